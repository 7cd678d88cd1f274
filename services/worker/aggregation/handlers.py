"""Reactions to profiles' events: what to recompute after figures or cities change.

Handlers only record requests and enqueue the debounced jobs (``requests.py``); the work is
done by the jobs. Each is idempotent: repeating one only pushes the due time a little later.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from services.profiles_api.aggregates.compute import recompute_coverage
from services.worker.aggregation.requests import request_recomputation
from services.worker.context import WorkerContext
from shared.contracts.events import (
    CityUpserted,
    IndicatorChanged,
    ObservationsChanged,
    OutboxEvent,
)


async def on_observations_changed(worker: WorkerContext, event: OutboxEvent) -> None:
    """Figures changed: recompute their indicators and every indicator depending on them."""
    payload = ObservationsChanged.model_validate(event.data)
    await request_recomputation(worker, {key.indicator for key in payload.keys})


async def on_city_upserted(worker: WorkerContext, event: OutboxEvent) -> None:
    """A city was added or changed: its row of the coverage matrix now; and if it moved to
    another region, the indicators whose regional aggregates still count it in the old one."""
    city = CityUpserted.model_validate(event.data).city
    async with worker.database.sessionmaker() as session, session.begin():
        await recompute_coverage(session, today=datetime.now(UTC).date(), cities=[city.code])
        moved = (
            await session.scalars(
                text(
                    "SELECT DISTINCT indicator_code FROM profiles.aggregate "
                    "WHERE group_kind = 'region' AND region <> :region "
                    "AND CAST(:city AS varchar) = ANY(cities)"
                ),
                {"region": city.region.value, "city": city.code},
            )
        ).all()
    await request_recomputation(worker, moved, with_dependents=False)


async def on_indicator_changed(worker: WorkerContext, event: OutboxEvent) -> None:
    """The catalogue changed: the coverage matrix now (themes' sizes), and the indicator's
    values and aggregates, with everything depending on it, once writes pause."""
    payload = IndicatorChanged.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await recompute_coverage(session, today=datetime.now(UTC).date())
    if not payload.removed:  # a removed indicator's values and aggregates went with it
        await request_recomputation(worker, {payload.code})
