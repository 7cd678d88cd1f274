"""The dialogue's read model of the indicator catalogue, kept from profiles'
``indicator.changed`` events.

Applying is idempotent and ignores changes older than the stored state (``service.py``), so
redelivered and reordered events are harmless. The resync compares the whole read model with
profiles' catalogue (``JobContext.indicators``: the worker is where both services meet) and
repairs any drift; it runs nightly and when the worker starts, which also fills the read
model of a deployment that had none.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron

from services.dialogue_api.indicators.service import (
    apply_indicator_changed,
    apply_indicator_removed,
    resync_indicator_refs,
)
from shared.contracts.events import IndicatorChanged, OutboxEvent
from shared.contracts.indicators import IndicatorRef
from shared.jobs import JobContext, Tasks, job_context

log = logging.getLogger(__name__)


async def on_indicator_changed(worker: JobContext, event: OutboxEvent) -> None:
    payload = IndicatorChanged.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        if payload.removed:
            await apply_indicator_removed(session, payload.code, changed_at=event.occurred_at)
        elif payload.names and payload.unit:
            indicator = IndicatorRef(code=payload.code, names=payload.names, unit=payload.unit)
            await apply_indicator_changed(session, indicator, changed_at=event.occurred_at)
        else:
            # Written before the events carried names and unit: the resync brings them.
            log.info("indicator.changed %s carries no names; left to the resync", event.id)


async def resync_indicators(ctx: dict[str, Any]) -> int:
    """Cron job: the full resync of the indicators' read model (nightly and at start-up)."""
    worker = job_context(ctx)
    async with worker.database.sessionmaker() as session, session.begin():
        changed = await resync_indicator_refs(session, await worker.indicators(session))
    if changed:
        log.warning("indicator read model had drifted: %d indicators repaired", changed)
    return changed


TASKS = Tasks(
    handlers={IndicatorChanged.event_type: [on_indicator_changed]},
    cron_jobs=[
        cron(
            resync_indicators,
            name="resync_indicators",
            hour={2},
            minute={35},
            second={0},
            run_at_startup=True,
        )
    ],
)
