"""The notifications' arq jobs: one attempt of a delivery or of a batch of them, the sweep,
the reminders, and telling a burst of an event's changes once it pauses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from services.dialogue_api.notifications.repository import NotificationRepository
from services.worker.context import WorkerContext, worker_context
from services.worker.notifications.changes import TELL_JOB
from services.worker.notifications.claims import DELIVER, DELIVER_MANY, enqueue_delivery
from services.worker.notifications.delivery import deliver, deliver_many
from services.worker.notifications.emails import tell_event_changes, tell_overdue_event_changes
from services.worker.notifications.reminders import send_reminders

log = logging.getLogger(__name__)

#: Most deliveries one sweep enqueues; the next sweep takes the rest.
SWEEP_BATCH = 5000


async def deliver_notification(ctx: dict[str, Any], notification_id: int) -> str:
    """Job: the next attempt of delivery ``notification_id`` (a no-op if it is not due)."""
    return await deliver(worker_context(ctx), notification_id)


async def deliver_notifications(ctx: dict[str, Any], notification_ids: list[int]) -> str:
    """Job: the next attempt of each of the deliveries (those not due are left alone)."""
    outcomes = await deliver_many(worker_context(ctx), notification_ids)
    sent = sum(outcome.startswith("sent") for outcome in outcomes.values())
    return f"{sent} of {len(outcomes)} sent"


async def enqueue_due(worker: WorkerContext) -> int:
    """Enqueue every pending delivery that is due; how many jobs were new (the others' jobs
    were waiting already). A delivery being sent right now may get a job too: it finds the
    row held or no longer due, and does nothing."""
    async with worker.database.sessionmaker() as session, session.begin():
        due = await NotificationRepository.from_session(session).due(
            datetime.now(UTC), limit=SWEEP_BATCH
        )
    enqueued = 0
    for scheduled in due:
        enqueued += await enqueue_delivery(worker, scheduled)
    if enqueued:
        log.info("enqueued %d due deliveries whose job was missing", enqueued)
    return enqueued


async def enqueue_due_deliveries(ctx: dict[str, Any]) -> int:
    """Cron job, every minute and at start: deliveries due whose job is missing (lost with
    Redis, or left by a worker that died while sending) get one."""
    return await enqueue_due(worker_context(ctx))


async def tell_event_changed(ctx: dict[str, Any], event_id: int, due_ms: int) -> str:
    """Job: tell the event's participants of its changes, if the burst due at ``due_ms`` is
    still the one waiting (a later change made a job of its own)."""
    return await tell_event_changes(worker_context(ctx), event_id, due_ms)


async def tell_overdue_changes(ctx: dict[str, Any]) -> int:
    """Cron job, every minute: bursts of event changes long past due (their job lost with
    Redis, or failed) are told."""
    return await tell_overdue_event_changes(worker_context(ctx))


async def remind(ctx: dict[str, Any]) -> int:
    """Cron job: the reminders whose time has come."""
    return await send_reminders(worker_context(ctx))


FUNCTIONS: list[Function] = [
    func(deliver_notification, name=DELIVER),
    func(deliver_notifications, name=DELIVER_MANY),
    func(tell_event_changed, name=TELL_JOB),
]
CRON_JOBS: list[CronJob] = [
    cron(enqueue_due_deliveries, name="enqueue_due_deliveries", second={0}, run_at_startup=True),
    cron(remind, name="send_reminders", minute=set(range(0, 60, 5)), second={20}),
    cron(tell_overdue_changes, name="tell_overdue_event_changes", second={50}),
]
