"""Notifications of the dialogue by e-mail and signed webhook, each delivery claimed in
PostgreSQL before it is sent and recorded with its attempts: the domain's handlers and jobs.

- ``emails.py`` decides who is told of each dialogue event (``recipients.py`` finds them),
  ``webhooks.py`` sends every outbox event (of both services) to the subscriptions to its
  type; both render the message and claim it (``claims.py``), then enqueue
  ``deliver_notification``. An event's changes wait until they pause (``changes.py``) and
  are told in one e-mail per person.
- ``delivery.py`` sends one attempt under the row's lock and records the outcome, with
  backoff, over the worker's SMTP connections and HTTP clients (``JobContext.smtp``,
  ``JobContext.http``); ``mail.py`` and ``calendar.py`` build e-mails and their calendar
  attachments in the reader's language (``messages.py``, ``templates/``).
- ``reminders.py`` claims the reminders before events and action due dates.
- This module holds the arq jobs (one attempt of a delivery or of a batch of them, the sweep
  of due deliveries, the reminders, telling a burst of an event's changes once it pauses)
  and declares them, with the handlers, in ``TASKS``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq import cron
from arq.worker import func

from services.dialogue_api.notifications.changes import TELL_JOB
from services.dialogue_api.notifications.claims import DELIVER, DELIVER_MANY, enqueue_delivery
from services.dialogue_api.notifications.delivery import deliver, deliver_many
from services.dialogue_api.notifications.emails import (
    EMAIL_HANDLERS,
    tell_event_changes,
    tell_overdue_event_changes,
)
from services.dialogue_api.notifications.reminders import send_reminders
from services.dialogue_api.notifications.repository import NotificationRepository
from services.dialogue_api.notifications.webhooks import on_outbox_event
from services.dialogue_api.webhooks.schemas import WebhookEventType
from shared.jobs import Handler, JobContext, Tasks, job_context

log = logging.getLogger(__name__)

#: Most deliveries one sweep enqueues; the next sweep takes the rest.
SWEEP_BATCH = 5000


async def deliver_notification(ctx: dict[str, Any], notification_id: int) -> str:
    """Job: the next attempt of delivery ``notification_id`` (a no-op if it is not due)."""
    return await deliver(job_context(ctx), notification_id)


async def deliver_notifications(ctx: dict[str, Any], notification_ids: list[int]) -> str:
    """Job: the next attempt of each of the deliveries (those not due are left alone)."""
    outcomes = await deliver_many(job_context(ctx), notification_ids)
    sent = sum(outcome.startswith("sent") for outcome in outcomes.values())
    return f"{sent} of {len(outcomes)} sent"


async def enqueue_due(worker: JobContext) -> int:
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
    return await enqueue_due(job_context(ctx))


async def tell_event_changed(ctx: dict[str, Any], event_id: int, due_ms: int) -> str:
    """Job: tell the event's participants of its changes, if the burst due at ``due_ms`` is
    still the one waiting (a later change made a job of its own)."""
    return await tell_event_changes(job_context(ctx), event_id, due_ms)


async def tell_overdue_changes(ctx: dict[str, Any]) -> int:
    """Cron job, every minute: bursts of event changes long past due (their job lost with
    Redis, or failed) are told."""
    return await tell_overdue_event_changes(job_context(ctx))


async def remind(ctx: dict[str, Any]) -> int:
    """Cron job: the reminders whose time has come."""
    return await send_reminders(job_context(ctx))


def _handlers(event_type: str) -> list[Handler]:
    email = EMAIL_HANDLERS.get(event_type)
    return [*([email] if email is not None else []), on_outbox_event]


TASKS = Tasks(
    # Every event a subscription may ask for gets its webhooks; dialogue events their e-mails.
    handlers={event_type.value: _handlers(event_type.value) for event_type in WebhookEventType},
    functions=[
        func(deliver_notification, name=DELIVER),
        func(deliver_notifications, name=DELIVER_MANY),
        func(tell_event_changed, name=TELL_JOB),
    ],
    cron_jobs=[
        cron(
            enqueue_due_deliveries, name="enqueue_due_deliveries", second={0}, run_at_startup=True
        ),
        cron(remind, name="send_reminders", minute=set(range(0, 60, 5)), second={20}),
        cron(tell_overdue_changes, name="tell_overdue_event_changes", second={50}),
    ],
)
