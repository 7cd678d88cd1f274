from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.notifications.schemas import Channel, DeliveryStatus
from shared.audit import NOT_AUDITED, Audited
from shared.columns import StrEnumColumn
from shared.distribution import LOCAL, distribution


class Notification(Base):
    """One delivery of one message to one recipient, and what became of it: the delivery log.

    A row is the claim on its ``delivery_key`` (one per outbox event and recipient, or
    per reminder and recipient): whoever inserts it first sends it, whoever comes later finds it.
    The message is rendered when the row is claimed, so every retry sends the same bytes.
    ``message_id`` is the stable id receivers de-duplicate on (``Message-ID`` of an e-mail,
    ``webhook-id`` of a webhook); it is random, so arq job ids built from it never collide
    with another database's.
    """

    __tablename__ = "notification"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # the delivery log
    __table_args__ = (
        Index(
            "ix_notification_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notification_status", "status", "id"),
        Index("ix_notification_recipient", "recipient", "id"),
        Index("ix_notification_person", "person_id"),
        Index("ix_notification_subscription", "subscription_id", "id"),
        distribution(LOCAL),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_key: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # Read back as Channel and DeliveryStatus members (text, as the delivery code sets them).
    channel: Mapped[str] = mapped_column(StrEnumColumn(Channel, 16))
    #: An e-mail address, or a webhook subscription's URL as it was when claimed.
    recipient: Mapped[str] = mapped_column(String(2000))
    #: The name an e-mail is addressed to (``To: Name <address>``).
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    #: The outbox event that caused it; null for reminders, which come from the calendar.
    outbox_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: The recipient's personal data goes with them: removing a person removes their log.
    person_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("person.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("webhook_subscription.id", ondelete="SET NULL")
    )
    language: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(998))
    #: The e-mail's text, or the webhook's JSON body.
    body: Mapped[str] = mapped_column(Text)
    #: The iCalendar attachment of an e-mail, and its iTIP method (REQUEST or CANCEL).
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(StrEnumColumn(DeliveryStatus, 16), server_default="pending")
    #: Attempts started, counted before each send: one more than the failures recorded
    #: means an attempt was cut short (its worker died or timed out).
    attempts: Mapped[int] = mapped_column(server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(2000))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EventChangeNotice(Base):
    """The e-mail an event's participants are owed for its latest changes, sent once the
    changes pause (``changes.py``).

    One row per event whose participants were ever told of a change. Each change recorded
    while one is waiting (``due_at`` set) joins it: the latest becomes the burst's last and
    pushes ``due_at`` to the debounce after it. The job due then tells, in one e-mail each,
    the people registered by the last change, keyed by it, and clears ``due_at``; a change no
    later than the last one told (an event handled again) then starts nothing.
    """

    __tablename__ = "event_change_notice"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # the worker's bookkeeping
    __table_args__ = (distribution(LOCAL),)

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    #: The outbox event of the latest change recorded, and when it happened.
    last_change_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    last_change_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When the waiting e-mail is due (whole milliseconds); null once it was sent.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
