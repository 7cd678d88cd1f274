"""The queries of reports: a city's preferred values over time."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.repository import ObservationFilter, preferred_ids
from services.profiles_api.sources.models import Source


async def preferred_series(
    session: AsyncSession, city: str, indicators: Sequence[str] = ()
) -> Sequence[Row[Observation, Source]]:
    """The preferred value of every figure of ``city`` (of ``indicators`` if given), with its
    source, oldest period first."""
    chosen = preferred_ids(ObservationFilter(cities=[city], indicators=indicators))
    statement = (
        select(Observation, Source)
        .join(Source, Source.id == Observation.source_id)
        .where(Observation.id.in_(chosen.scalar_subquery()), Observation.value.is_not(None))
        .order_by(
            Observation.indicator_code,
            Observation.period_start,
            Observation.disaggregation,
            Observation.scope,
        )
    )
    return (await session.execute(statement)).all()
