"""Changes of an event told once they pause: one e-mail per person for a burst of changes.

The aggregates' debounce (``services/profiles_api/aggregates/requests.py``), for e-mails. Each
change its participants are told of (``emails.on_event_changed``) upserts the event's row of
``dialogue.event_change_notice``: the latest change becomes the burst's last, and ``due_at``
moves to ``now + MC2CM_EVENT_CHANGE_DEBOUNCE_SECONDS`` (never earlier than a due time already
set). A ``tell_event_changes`` job keyed by the last change and that due time is enqueued,
deferred until it. A job whose notice has since been pushed later does nothing; the job of
the last change takes the notice (clearing ``due_at``) in the transaction that claims the
e-mails, keyed by the last change, so a burst gives one e-mail per person, on its trailing
edge, and a job that fails leaves the notice waiting. A sweep every minute tells notices more
than ``OVERDUE`` past due (their job lost with Redis).

The row stays once told, with its last change: a change no later than it (an outbox event
handled again, at least once) starts nothing, so nobody is told twice. The statements are
``EventChangeNoticeRepository``'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.repository import Burst, EventChangeNoticeRepository
from shared.contracts.events import OutboxEvent
from shared.jobs import JobContext

#: The job that tells an event's participants of a burst of its changes once it is due.
TELL_JOB = "tell_event_changes"
#: A notice this long past due lost its job: the sweep tells it.
OVERDUE = timedelta(seconds=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (due times are whole milliseconds)."""
    return (moment - _EPOCH) // _MILLISECOND


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MILLISECOND


def job_id(last_change_id: uuid.UUID, due_at: datetime) -> str:
    """The job telling the burst that ends (so far) with ``last_change_id``, due at ``due_at``:
    named after the change's random id, so no other database's job on the same Redis takes
    it, and after the due time, so a burst pushed later gets a job of its own."""
    return f"event-changes:{last_change_id}:{to_ms(due_at)}"


async def request_notice(worker: JobContext, change: OutboxEvent, event_id: int) -> bool:
    """Record ``change`` of event ``event_id`` in the burst waiting to be told and enqueue
    the job due after the debounce; ``False`` when the change was told already or the event
    is gone (safe to repeat: a repeat while the burst waits only delays it)."""
    async with worker.database.sessionmaker() as session, session.begin():
        waiting = await EventChangeNoticeRepository.from_session(session).record_change(
            event_id,
            change.id,
            change.occurred_at,
            debounce=timedelta(seconds=worker.settings.event_change_debounce_seconds),
        )
    if waiting is None:
        return False
    # After the commit: a job that starts finds the notice. If enqueueing fails, the event's
    # handler fails and runs again, which upserts and enqueues again.
    last_change_id, due_at = waiting
    await worker.enqueue(
        TELL_JOB,
        event_id,
        to_ms(due_at),
        _job_id=job_id(last_change_id, due_at),
        _defer_until=due_at,
    )
    return True


async def take_notice(session: AsyncSession, event_id: int, due_ms: int) -> Burst | None:
    """Take the event's waiting notice if it is the one this job was enqueued for (or
    older); ``None`` when a later change pushed it later or another job took it. The row
    stays locked until the transaction ends: a change recorded meanwhile waits, then starts
    the next burst."""
    return await EventChangeNoticeRepository.from_session(session).take(event_id, from_ms(due_ms))


async def overdue(session: AsyncSession, now: datetime) -> Sequence[tuple[int, int]]:
    """The notices more than ``OVERDUE`` past due at ``now``: (event, due ms), oldest first."""
    due = await EventChangeNoticeRepository.from_session(session).due_before(now - OVERDUE)
    return [(event_id, to_ms(due_at)) for event_id, due_at in due]
