from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class AgendaItem(Timestamped, Versioned, Base):
    """A session of an event's programme, in a room, with its speakers.

    Two items of one event may not overlap in the same room. PostgreSQL would say it with an
    exclusion constraint, but that needs the ``btree_gist`` extension, which the embedded
    server lacks; the service checks it while holding the event's row lock instead, so two
    concurrent writers of one programme run one after the other.
    """

    __tablename__ = "agenda_item"
    __audit__: ClassVar[Audited | None] = Audited(resource="agenda_item")
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_agenda_item_event", "event_id", "starts_at", "id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    room: Mapped[str | None] = mapped_column(String(100))
    theme: Mapped[str | None] = mapped_column(String(32))


class AgendaSpeaker(Base):
    """A person speaking in an agenda item, in order."""

    __tablename__ = "agenda_speaker"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # recorded as the agenda item's "speakers"
    __table_args__ = (Index("ix_agenda_speaker_person", "person_id"), distribution(REFERENCE))

    agenda_item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int]
