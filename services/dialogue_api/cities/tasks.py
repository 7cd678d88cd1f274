"""The dialogue's read model of the cities, kept from profiles' ``city.*`` events.

Applying is idempotent and ignores events older than the stored state (``service.py``), so
redelivered and reordered events are harmless. The nightly resync compares the whole read
model with profiles' cities (``JobContext.cities``: the worker is where both services meet)
and repairs any drift: cities missed or changed are upserted, cities gone from profiles
marked removed.
"""

from __future__ import annotations

import logging
from typing import Any

from arq import cron

from services.dialogue_api.cities.service import (
    apply_city_deleted,
    apply_city_upserted,
    resync_city_refs,
)
from shared.contracts.events import CityDeleted, CityUpserted, OutboxEvent
from shared.jobs import JobContext, Tasks, job_context

log = logging.getLogger(__name__)


async def on_city_upserted(worker: JobContext, event: OutboxEvent) -> None:
    payload = CityUpserted.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await apply_city_upserted(session, payload.city, changed_at=event.occurred_at)


async def on_city_deleted(worker: JobContext, event: OutboxEvent) -> None:
    payload = CityDeleted.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await apply_city_deleted(session, payload.code, changed_at=event.occurred_at)


async def resync_cities(ctx: dict[str, Any]) -> int:
    """Cron job: the nightly full resync of the cities' read model."""
    worker = job_context(ctx)
    async with worker.database.sessionmaker() as session, session.begin():
        changed = await resync_city_refs(session, await worker.cities(session))
    if changed:
        log.warning("city read model had drifted: %d cities repaired", changed)
    return changed


TASKS = Tasks(
    handlers={
        CityUpserted.event_type: [on_city_upserted],
        CityDeleted.event_type: [on_city_deleted],
    },
    cron_jobs=[cron(resync_cities, name="resync_cities", hour={2}, minute={30}, second={0})],
)
