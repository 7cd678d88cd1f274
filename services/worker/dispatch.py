"""The ``handle_event`` job: runs every handler of one outbox event, then marks it handled.

Handlers come from each domain's ``Tasks`` (its ``tasks.py``), gathered by ``registry.py``.
A handler that fails makes the job retry with backoff (every handler runs again: they are
idempotent); after the last try the event stays unhandled and the relay's redelivery sweep
enqueues it again later. When the process traces, each handler runs in a span of its own
inside the job's (``shared.tracing``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import Retry
from sqlalchemy import func, select, update

from services.worker.context import worker_context
from services.worker.registry import HANDLERS, OUTBOXES
from shared.contracts.events import OutboxEvent
from shared.tracing import span

log = logging.getLogger(__name__)


def retry_delay(job_try: int) -> float:
    """Seconds before try ``job_try + 1``: 1, 4, 16, 64… capped at ten minutes."""
    return float(min(4 ** (job_try - 1), 600))


async def handle_event(ctx: dict[str, Any], schema: str, event_id: str) -> str:
    """Run the handlers of outbox event ``event_id`` of ``schema``."""
    worker = worker_context(ctx)
    table = OUTBOXES[schema]
    async with worker.database.sessionmaker() as session:
        envelope = await session.scalar(
            select(table.c.envelope).where(table.c.id == uuid.UUID(event_id))
        )
    if envelope is None:
        log.warning("outbox event %s of %s is gone; nothing to do", event_id, schema)
        return "missing"
    event = OutboxEvent.model_validate(envelope)
    handlers = HANDLERS.get(event.type, ())
    try:
        for handler in handlers:
            with span(
                f"handle {event.type}",
                attributes={"mc2cm.handler": f"{handler.__module__}.{handler.__qualname__}"},
            ):
                await handler(worker, event)
    except Exception as exc:
        job_try: int = ctx.get("job_try", 1)
        if job_try >= worker.settings.job_max_tries:
            raise
        log.warning("%s %s failed (try %d), retrying: %r", event.type, event_id, job_try, exc)
        raise Retry(defer=retry_delay(job_try)) from exc
    async with worker.database.sessionmaker() as session, session.begin():
        await session.execute(
            update(table).where(table.c.id == uuid.UUID(event_id)).values(handled_at=func.now())
        )
    return f"{event.type}: {len(handlers)} handlers"
