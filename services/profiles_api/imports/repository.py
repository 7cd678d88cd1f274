"""The queries of imports beyond the observation writer's: observations named by their key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class ObservationKey(NamedTuple):
    """An observation's natural key, as an import names it."""

    city: str
    indicator: str
    period: str
    scope: str
    disaggregation: str
    source_id: int


async def observation_ids(
    session: AsyncSession, keys: Sequence[ObservationKey]
) -> dict[ObservationKey, int]:
    """The ids of the observations ``keys`` name (keys naming none are left out)."""
    if not keys:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT o.id, o.city_code, o.indicator_code, o.period, o.scope, o.disaggregation,
                   o.source_id
            FROM unnest(CAST(:cities AS text[]), CAST(:indicators AS text[]),
                        CAST(:periods AS text[]), CAST(:scopes AS text[]),
                        CAST(:disaggregations AS text[]), CAST(:sources AS bigint[]))
                 AS k(city_code, indicator_code, period, scope, disaggregation, source_id)
            JOIN profiles.observation o
              USING (city_code, indicator_code, period, scope, disaggregation, source_id)
            """
        ),
        {
            "cities": [key.city for key in keys],
            "indicators": [key.indicator for key in keys],
            "periods": [key.period for key in keys],
            "scopes": [key.scope for key in keys],
            "disaggregations": [key.disaggregation for key in keys],
            "sources": [key.source_id for key in keys],
        },
    )
    return {ObservationKey(*row[1:]): row[0] for row in rows}
