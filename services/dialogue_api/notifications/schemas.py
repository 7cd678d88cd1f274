from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from services.dialogue_api.notifications.models import Notification


class Channel(enum.StrEnum):
    email = "email"
    webhook = "webhook"


class DeliveryStatus(enum.StrEnum):
    """``pending`` until sent or given up: ``sent``; ``failed`` after the last attempt;
    ``skipped`` when there was nothing to send it with (no SMTP server configured, the
    subscription disabled or removed)."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


def email_message_id(message_id: uuid.UUID) -> str:
    """The ``Message-ID`` of an e-mail: the same on every attempt."""
    return f"<{message_id}@mc2cm>"


def webhook_message_id(message_id: uuid.UUID) -> str:
    """The ``webhook-id`` of a webhook delivery: the same on every attempt."""
    return f"msg_{message_id.hex}"


def header_message_id(channel: str, message_id: uuid.UUID) -> str:
    return (
        webhook_message_id(message_id)
        if channel == Channel.webhook
        else email_message_id(message_id)
    )


class NotificationRead(BaseModel):
    """One delivery of the log: to whom, why, and what became of it."""

    id: int
    channel: Channel
    recipient: str = Field(
        description="The e-mail address, or the webhook subscription's URL.",
        examples=["ana.ferreira@example.org"],
    )
    event_type: str = Field(
        description="The outbox event type, or `reminder.event` / `reminder.action`.",
        examples=["registration.changed"],
    )
    outbox_event_id: uuid.UUID | None = Field(
        description="The outbox event it announces; null for reminders."
    )
    person: int | None = Field(description="The person it is addressed to (e-mails).")
    subscription: int | None = Field(
        description="The webhook subscription (null once the subscription is removed)."
    )
    message_id: str = Field(
        description="What receivers de-duplicate on: the e-mail's `Message-ID` or the "
        "webhook's `webhook-id`, the same on every attempt.",
        examples=["msg_0f8e7ad2c4b54a4d9f3c1b2a6d5e4f70"],
    )
    language: str | None = Field(description="The language of an e-mail.", examples=["fr"])
    subject: str | None
    status: DeliveryStatus
    attempts: int = Field(description="Attempts started so far.")
    last_error: str | None = Field(examples=["HTTP 500 from the receiver"])
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due; null once the delivery is over."
    )
    last_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> Self:
        pending = notification.status == DeliveryStatus.pending
        return cls(
            id=notification.id,
            channel=Channel(notification.channel),
            recipient=notification.recipient,
            event_type=notification.event_type,
            outbox_event_id=notification.outbox_event_id,
            person=notification.person_id,
            subscription=notification.subscription_id,
            message_id=header_message_id(notification.channel, notification.message_id),
            language=notification.language,
            subject=notification.subject,
            status=DeliveryStatus(notification.status),
            attempts=notification.attempts,
            last_error=notification.last_error,
            next_attempt_at=notification.next_attempt_at if pending else None,
            last_attempt_at=notification.last_attempt_at,
            created_at=notification.created_at,
            sent_at=notification.sent_at,
        )
