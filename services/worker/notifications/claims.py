"""Claiming deliveries in PostgreSQL, then enqueueing a job for each.

A delivery is claimed by inserting its row with a unique ``delivery_key``
(``INSERT … ON CONFLICT DO NOTHING``): a handler run twice for one event, or two workers at
once, claim it once. The message is rendered before the claim and stored with it. Once the
claim commits, every pending delivery among the keys (new, or claimed by an earlier run that
died before enqueueing) gets a ``deliver_notification`` job whose id names the attempt and
when it is due, so enqueueing it again adds nothing; the sweep
(``jobs.enqueue_due_deliveries``) catches any job that was lost all the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.repository import Scheduled
from services.dialogue_api.notifications.service import Delivery, claim_deliveries
from services.worker.context import WorkerContext

DELIVER = "deliver_notification"


def email_key(event_id: uuid.UUID, person_id: int) -> str:
    """The delivery key of the e-mail announcing an outbox event to a person."""
    return f"{event_id}:email:person:{person_id}"


def webhook_key(event_id: uuid.UUID, subscription_id: int) -> str:
    """The delivery key of an outbox event's webhook to a subscription."""
    return f"{event_id}:webhook:{subscription_id}"


def delivery_job_id(message_id: uuid.UUID, attempt: int, due: datetime) -> str:
    """The arq job of attempt ``attempt`` of a delivery, due at ``due``.

    Built from the delivery's random message id (not its serial id), so it never collides
    with a job of another database on one Redis; and from the time the attempt is due, so a
    job that ran too early (enqueued by the sweep while the previous attempt was under way)
    never takes the id of the retry scheduled after it.
    """
    return f"notification:{message_id}:{attempt}:{due.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


async def enqueue_delivery(worker: WorkerContext, scheduled: Scheduled) -> bool:
    """Enqueue the next attempt of a pending delivery, deferred until it is due; ``False``
    when that attempt's job already exists."""
    due = scheduled.next_attempt_at
    return await worker.enqueue(
        DELIVER,
        scheduled.id,
        _job_id=delivery_job_id(scheduled.message_id, scheduled.attempts + 1, due),
        _defer_until=due if due > datetime.now(UTC) else None,
    )


async def claim_and_enqueue(
    worker: WorkerContext,
    build: Callable[[AsyncSession], Awaitable[Sequence[Delivery]]],
) -> int:
    """Build deliveries in a transaction, claim them, and once committed enqueue every one
    still pending; how many were enqueued."""
    async with worker.database.sessionmaker() as session, session.begin():
        deliveries = await build(session)
        scheduled = await claim_deliveries(session, deliveries)
    enqueued = 0
    for row in scheduled:
        enqueued += await enqueue_delivery(worker, row)
    return enqueued
