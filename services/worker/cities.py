"""The dialogue's read model of the cities, kept from profiles' ``city.*`` events.

Applying is idempotent and ignores events older than the stored state
(``services/dialogue_api/cities/service.py``), so redelivered and reordered events are
harmless. The nightly resync compares the whole read model with profiles' cities and repairs
any drift: cities missed or changed are upserted, cities gone from profiles marked removed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.cities.models import CityRef as CityRefRow
from services.dialogue_api.cities.service import apply_city_deleted, apply_city_upserted
from services.profiles_api.cities.service import city_refs
from services.worker.context import Handlers, WorkerContext, worker_context
from shared.contracts.events import CityDeleted, CityUpserted, OutboxEvent

log = logging.getLogger(__name__)


async def on_city_upserted(worker: WorkerContext, event: OutboxEvent) -> None:
    payload = CityUpserted.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await apply_city_upserted(session, payload.city, changed_at=event.occurred_at)


async def on_city_deleted(worker: WorkerContext, event: OutboxEvent) -> None:
    payload = CityDeleted.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await apply_city_deleted(session, payload.code, changed_at=event.occurred_at)


HANDLERS: Handlers = {
    CityUpserted.event_type: [on_city_upserted],
    CityDeleted.event_type: [on_city_deleted],
}


async def resync_city_refs(session: AsyncSession) -> int:
    """Make ``dialogue.city_ref`` agree with profiles' cities; how many rows changed."""
    changed = 0
    known: set[str] = set()
    for city, changed_at in await city_refs(session):
        known.add(city.code)
        changed += await apply_city_upserted(session, city, changed_at=changed_at)
    gone = await session.scalars(
        select(CityRefRow.code).where(
            CityRefRow.removed_at.is_(None), CityRefRow.code.not_in(known or {""})
        )
    )
    now = datetime.now(UTC)
    for code in gone.all():
        changed += await apply_city_deleted(session, code, changed_at=now)
    return changed


async def resync_cities(ctx: dict[str, Any]) -> int:
    """Cron job: the nightly full resync of the cities' read model."""
    worker = worker_context(ctx)
    async with worker.database.sessionmaker() as session, session.begin():
        changed = await resync_city_refs(session)
    if changed:
        log.warning("city read model had drifted: %d cities repaired", changed)
    return changed
