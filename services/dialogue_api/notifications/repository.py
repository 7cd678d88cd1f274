from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Table,
    Update,
    Uuid,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dialogue_api.events.models import Event
from services.dialogue_api.notifications.models import EventChangeNotice, Notification
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
        counted = await self.session.execute(_start_attempts(notification_ids, now + slack, now))
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


_notification = cast(Table, Notification.__table__)


def _start_attempts(ids: Sequence[int], due_by: datetime, now: datetime) -> Update:
    """Count one more attempt, at ``now``, of each pending delivery among ``ids`` due by
    ``due_by`` and not locked; returning each one's id and attempt."""
    table = _notification
    due = (
        select(table.c.id)
        .where(
            table.c.id.in_(ids),
            table.c.status == "pending",
            table.c.next_attempt_at <= due_by,
        )
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.id.in_(due))
        .values(attempts=table.c.attempts + 1, last_attempt_at=now)
        .returning(table.c.id, table.c.attempts)
    )


class Attempt(NamedTuple):
    """A delivery as one attempt reads it (under the row's lock), and what it records: the
    attempt changes ``status``, ``last_error``, ``next_attempt_at``, ``sent_at`` and
    ``recipient`` (``_replace``) and ``DeliveryAttempts.record`` writes them."""

    id: int
    message_id: uuid.UUID
    channel: str
    recipient: str
    recipient_name: str | None
    subscription_id: int | None
    language: str | None
    subject: str | None
    body: str
    calendar: str | None
    calendar_method: str | None
    created_at: datetime
    attempts: int
    status: str
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None


def _attempt_columns() -> list[ColumnElement[Any]]:
    return [_notification.c[name] for name in Attempt._fields]


#: What an attempt changes on its delivery, written back by its id.
_RECORDED = ("status", "last_error", "next_attempt_at", "sent_at", "recipient")


def _recorded() -> list[tuple[str, ColumnElement[Any]]]:
    return [(name, _notification.c[name]) for name in _RECORDED]


# Built once: executing the same statement object reuses its cache key and compiled SQL.
_LOCK_ATTEMPT = (
    select(*_attempt_columns())
    .where(
        _notification.c.id == bindparam("notification_id"),
        _notification.c.status == "pending",
        _notification.c.attempts == bindparam("attempt"),
    )
    .with_for_update(skip_locked=True)
)
_RECORD = (
    update(_notification)
    .where(_notification.c.id == bindparam("notification_id"))
    .values({name: bindparam(f"new_{name}", type_=column.type) for name, column in _recorded()})
)
_RECORD_ERROR = (
    update(_notification)
    .where(
        _notification.c.id == bindparam("notification_id"),
        _notification.c.status == "pending",
        _notification.c.attempts == bindparam("attempt"),
    )
    .values(last_error=bindparam("new_last_error"))
)


class DeliveryAttempts:
    """The statements of an attempt on a delivery, on one connection (which holds the
    attempt's advisory locks): SQLAlchemy Core, no ORM session, so a delivery costs its
    round trips to PostgreSQL and little more (``delivery.py``)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def start(
        self, notification_ids: Sequence[int], now: datetime, *, slack: timedelta = timedelta(0)
    ) -> dict[int, int]:
        """``NotificationRepository.start_attempts``, in one Core statement."""
        counted = await self.connection.execute(_start_attempts(notification_ids, now + slack, now))
        return {row.id: row.attempts for row in counted}

    async def lock(self, notification_id: int, attempt: int) -> Attempt | None:
        """``NotificationRepository.lock_attempt``: the delivery, locked until the
        transaction ends, if it is still pending at attempt ``attempt``."""
        row = (
            await self.connection.execute(
                _LOCK_ATTEMPT, {"notification_id": notification_id, "attempt": attempt}
            )
        ).first()
        return Attempt(*row) if row is not None else None

    async def record(self, attempt: Attempt) -> None:
        """Write what the attempt changed on its (locked) delivery."""
        values = {f"new_{name}": getattr(attempt, name) for name in _RECORDED}
        await self.connection.execute(_RECORD, {"notification_id": attempt.id, **values})

    async def record_error(self, notification_id: int, attempt: int, error: str) -> None:
        """Record ``error`` on a delivery still pending at ``attempt``."""
        await self.connection.execute(
            _RECORD_ERROR,
            {"notification_id": notification_id, "attempt": attempt, "new_last_error": error},
        )


@dataclass(frozen=True)
class Burst:
    """The changes of one event taken by the transaction that tells them: the last one."""

    event_id: int
    last_change_id: uuid.UUID
    last_change_at: datetime


class EventChangeNoticeRepository(Repository[EventChangeNotice]):
    """The e-mails owed for events' latest changes, told once they pause (``changes.py``)."""

    model = EventChangeNotice

    async def record_change(
        self, event_id: int, change_id: uuid.UUID, occurred_at: datetime, *, debounce: timedelta
    ) -> tuple[uuid.UUID, datetime] | None:
        """Join change ``change_id`` to the event's burst waiting to be told (the latest by
        ``occurred_at`` becomes its last), due ``debounce`` from now, never earlier than a due
        time already set; the burst's last change and due time. ``None`` when the change is no
        later than the last one told, or the event is gone."""
        notice = EventChangeNotice.__table__
        due = func.date_trunc("milliseconds", func.clock_timestamp() + debounce)
        # Selected from the event itself: an event removed since (nobody was registered)
        # needs no notice, and its change must not fail on the missing row.
        values = insert(EventChangeNotice).from_select(
            ["event_id", "last_change_id", "last_change_at", "due_at"],
            select(
                Event.id,
                literal(change_id, Uuid),
                literal(occurred_at, DateTime(timezone=True)),
                due,
            ).where(Event.id == event_id),
        )
        new = values.excluded
        statement = values.on_conflict_do_update(
            index_elements=[notice.c.event_id],
            set_={
                "last_change_id": case(
                    (new.last_change_at > notice.c.last_change_at, new.last_change_id),
                    else_=notice.c.last_change_id,
                ),
                "last_change_at": func.greatest(notice.c.last_change_at, new.last_change_at),
                # greatest() passes over null: a burst told already starts again from now.
                "due_at": func.greatest(notice.c.due_at, new.due_at),
            },
            # A burst waiting takes any change; once told, only a change later than its last.
            where=or_(notice.c.due_at.is_not(None), new.last_change_at > notice.c.last_change_at),
        ).returning(notice.c.last_change_id, notice.c.due_at)
        waiting = (await self.session.execute(statement)).first()
        return (waiting.last_change_id, waiting.due_at) if waiting is not None else None

    async def take(self, event_id: int, due_at: datetime) -> Burst | None:
        """Take the event's waiting notice if it is due by ``due_at`` (clearing its due
        time); the row stays locked until the transaction ends."""
        row = (
            await self.session.execute(
                update(EventChangeNotice)
                .where(EventChangeNotice.event_id == event_id, EventChangeNotice.due_at <= due_at)
                .values(due_at=None)
                .returning(EventChangeNotice.last_change_id, EventChangeNotice.last_change_at)
            )
        ).first()
        return Burst(event_id, row.last_change_id, row.last_change_at) if row else None

    async def due_before(self, moment: datetime) -> Sequence[tuple[int, datetime]]:
        """The notices waiting and due before ``moment``: (event, due time), oldest first."""
        rows = await self.session.execute(
            select(EventChangeNotice.event_id, EventChangeNotice.due_at)
            .where(EventChangeNotice.due_at < moment)
            .order_by(EventChangeNotice.due_at)
        )
        return [(event_id, due_at) for event_id, due_at in rows if due_at is not None]
