"""Claiming deliveries in PostgreSQL, then enqueueing a job for each.

A delivery is claimed by inserting its row with a unique ``delivery_key``
(``INSERT … ON CONFLICT DO NOTHING``): a handler run twice for one event, or two workers at
once, claim it once. The message is rendered before the claim and stored with it. Once the
claim commits, every pending delivery among the keys (new, or claimed by an earlier run that
died before enqueueing) gets a ``deliver_notification`` job whose id names the attempt and
when it is due, so enqueueing it again adds nothing; deliveries due at once go by
``DELIVERY_BATCH`` in one ``deliver_notifications`` job. The sweep
(``jobs.enqueue_due_deliveries``) catches any job that was lost all the same.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.repository import Scheduled
from services.dialogue_api.notifications.service import Delivery, claim_deliveries
from shared.jobs import JobContext

DELIVER = "deliver_notification"
DELIVER_MANY = "deliver_notifications"
#: Most deliveries one ``deliver_notifications`` job attempts: a job, its locks and its
#: counting are shared by that many, each still sent and recorded on its own.
DELIVERY_BATCH = 50


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


async def enqueue_delivery(worker: JobContext, scheduled: Scheduled) -> bool:
    """Enqueue the next attempt of a pending delivery, deferred until it is due; ``False``
    when that attempt's job already exists."""
    due = scheduled.next_attempt_at
    return await worker.enqueue(
        DELIVER,
        scheduled.id,
        _job_id=delivery_job_id(scheduled.message_id, scheduled.attempts + 1, due),
        _defer_until=due if due > datetime.now(UTC) else None,
    )


async def enqueue_deliveries(worker: JobContext, scheduled: Sequence[Scheduled]) -> int:
    """Enqueue the next attempt of pending deliveries: those due now by ``DELIVERY_BATCH`` in
    one job (named after its first), the others each deferred until due; how many deliveries
    got a new job."""
    now = datetime.now(UTC)
    due = [row for row in scheduled if row.next_attempt_at <= now]
    enqueued = 0
    for row in scheduled:
        if row.next_attempt_at > now:
            enqueued += await enqueue_delivery(worker, row)
    for start in range(0, len(due), DELIVERY_BATCH):
        batch = due[start : start + DELIVERY_BATCH]
        first = batch[0]
        if len(batch) == 1:
            enqueued += await enqueue_delivery(worker, first)
        elif await worker.enqueue(
            DELIVER_MANY,
            [row.id for row in batch],
            _job_id=f"notifications:{first.message_id}:{first.attempts + 1}:{len(batch)}",
        ):
            enqueued += len(batch)
    return enqueued


async def claim_and_enqueue(
    worker: JobContext,
    build: Callable[[AsyncSession], Awaitable[Sequence[Delivery]]],
) -> int:
    """Build deliveries in a transaction, claim them, and once committed enqueue every one
    still pending; how many were enqueued."""
    async with worker.database.sessionmaker() as session, session.begin():
        deliveries = await build(session)
        scheduled = await claim_deliveries(session, deliveries)
    return await enqueue_deliveries(worker, scheduled)
