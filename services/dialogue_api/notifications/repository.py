from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from services.dialogue_api.notifications.models import Notification
from shared.pagination import PageParams, keyset
from shared.repository import Repository


@dataclass(frozen=True)
class NotificationFilters:
    channel: str | None = None
    status: str | None = None
    event_type: str | None = None
    recipient: str | None = None
    person_id: int | None = None
    subscription_id: int | None = None


#: Most deliveries claimed by one statement.
CLAIM_CHUNK = 1000


class Scheduled(NamedTuple):
    """What enqueueing the next attempt of a pending delivery needs to know of it."""

    id: int
    message_id: uuid.UUID
    attempts: int
    next_attempt_at: datetime


_SCHEDULED = (
    Notification.id,
    Notification.message_id,
    Notification.attempts,
    Notification.next_attempt_at,
)


class NotificationRepository(Repository[Notification]):
    model = Notification

    async def search(
        self, filters: NotificationFilters, page: PageParams
    ) -> Sequence[Notification]:
        """A page of the delivery log, by id (oldest first)."""
        statement = select(Notification)
        if filters.channel is not None:
            statement = statement.where(Notification.channel == filters.channel)
        if filters.status is not None:
            statement = statement.where(Notification.status == filters.status)
        if filters.event_type is not None:
            statement = statement.where(Notification.event_type == filters.event_type)
        if filters.recipient is not None:
            statement = statement.where(Notification.recipient == filters.recipient)
        if filters.person_id is not None:
            statement = statement.where(Notification.person_id == filters.person_id)
        if filters.subscription_id is not None:
            statement = statement.where(Notification.subscription_id == filters.subscription_id)
        return (await self.session.scalars(keyset(statement, page, Notification.id))).all()

    async def claim(self, rows: Sequence[dict[str, Any]]) -> Sequence[Scheduled]:
        """Insert the deliveries whose keys nobody claimed yet; the pending ones among all
        the keys given (new or claimed before), to be enqueued."""
        scheduled: list[Scheduled] = []
        # By chunks: one statement takes at most 32,767 parameters (asyncpg), 14 a row.
        for start in range(0, len(rows), CLAIM_CHUNK):
            chunk = list(rows[start : start + CLAIM_CHUNK])
            await self.session.execute(
                insert(Notification)
                .values(chunk)
                .on_conflict_do_nothing(index_elements=[Notification.delivery_key])
            )
            found = await self.session.execute(
                select(*_SCHEDULED).where(
                    Notification.delivery_key.in_([row["delivery_key"] for row in chunk]),
                    Notification.status == "pending",
                )
            )
            scheduled.extend(Scheduled(*row) for row in found)
        return sorted(scheduled, key=lambda row: row.id)

    async def due(self, now: datetime, *, limit: int) -> Sequence[Scheduled]:
        """Pending deliveries due by ``now``, the longest waiting first. It locks nothing: an
        attempt that finds its row locked leaves it to whoever holds it."""
        found = await self.session.execute(
            select(*_SCHEDULED)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
        return [Scheduled(*row) for row in found]

    async def start_attempt(
        self, notification_id: int, now: datetime, *, slack: timedelta = timedelta(0)
    ) -> int | None:
        """Count one more attempt of a pending delivery due by ``now`` (give or take
        ``slack``) that nobody is sending right now; the attempt's number, or ``None`` when
        there is nothing to attempt."""
        return (await self.start_attempts([notification_id], now, slack=slack)).get(notification_id)

    async def start_attempts(
        self, notification_ids: Sequence[int], now: datetime, *, slack: timedelta = timedelta(0)
    ) -> dict[int, int]:
        """``start_attempt`` for many deliveries in one statement: the number of the attempt
        counted, by delivery (those with nothing to attempt left out)."""
        due = (
            select(Notification.id)
            .where(
                Notification.id.in_(notification_ids),
                Notification.status == "pending",
                Notification.next_attempt_at <= now + slack,
            )
            .with_for_update(skip_locked=True)
        )
        counted = await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(due))
            .values(attempts=Notification.attempts + 1, last_attempt_at=now)
            .returning(Notification.id, Notification.attempts)
            .execution_options(synchronize_session=False)
        )
        return {row.id: row.attempts for row in counted}

    async def lock_attempt(self, notification_id: int, attempt: int) -> Notification | None:
        """The delivery, locked until the transaction ends, if it is still pending at attempt
        ``attempt`` (``None`` if another run started a later attempt or holds it)."""
        return await self.session.scalar(
            select(Notification)
            .where(
                Notification.id == notification_id,
                Notification.status == "pending",
                Notification.attempts == attempt,
            )
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
