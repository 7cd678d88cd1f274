"""The notifications' delivery log: what the worker sent, to whom, and how it went.

The worker claims each delivery here (``claim_deliveries``) before sending it: the row's
unique ``delivery_key`` makes a second claim of the same delivery (a redelivered event, a
handler run twice, two workers) a no-op. Admins read the log through the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.repository import (
    NotificationFilters,
    NotificationRepository,
    Scheduled,
)
from services.dialogue_api.notifications.schemas import Channel
from shared.errors import NotFound
from shared.pagination import PageParams


@dataclass(frozen=True)
class Delivery:
    """A message to claim, rendered: what every attempt will send."""

    delivery_key: str
    channel: Channel
    recipient: str
    event_type: str
    body: str
    recipient_name: str | None = None
    outbox_event_id: uuid.UUID | None = None
    person_id: int | None = None
    subscription_id: int | None = None
    language: str | None = None
    subject: str | None = None
    calendar: str | None = None
    calendar_method: str | None = None


async def claim_deliveries(
    session: AsyncSession, deliveries: Sequence[Delivery]
) -> Sequence[Scheduled]:
    """Claim each delivery whose key is new; the pending ones among them all (new or
    claimed before and not yet sent), for the caller to enqueue."""
    unique = {delivery.delivery_key: delivery for delivery in deliveries}
    rows = [
        asdict(delivery) | {"channel": delivery.channel.value, "message_id": uuid.uuid4()}
        for delivery in unique.values()
    ]
    return await NotificationRepository.from_session(session).claim(rows)


async def list_notifications(
    session: AsyncSession, page: PageParams, filters: NotificationFilters
) -> Sequence[Notification]:
    """A page of the delivery log, oldest first."""
    return await NotificationRepository.from_session(session).search(filters, page)


async def get_notification(session: AsyncSession, notification_id: int) -> Notification:
    """One delivery of the log (404 if there is none)."""
    notification = await NotificationRepository.from_session(session).get(notification_id)
    if notification is None:
        raise NotFound(f"There is no notification {notification_id}.", id=notification_id)
    return notification
