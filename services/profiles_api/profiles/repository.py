from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.models import Observation
from shared.contracts.themes import Theme

RECENT_YEARS = 5


@dataclass(frozen=True)
class CoverageRow:
    theme: str
    indicators: int
    with_data: int
    recent: int
    latest_period_end: date | None


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 28 February for a 29th without its leap year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


async def theme_coverage(session: AsyncSession, city_code: str, today: date) -> list[CoverageRow]:
    """For every theme: catalogue size, indicators with a value, and with one in 5 years."""
    since = years_before(today, RECENT_YEARS)
    latest = (
        select(
            Observation.indicator_code,
            func.max(Observation.period_end).label("last_end"),
        )
        .where(Observation.city_code == city_code, Observation.value.is_not(None))
        .group_by(Observation.indicator_code)
        .subquery()
    )
    statement = (
        select(
            Indicator.theme,
            func.count(Indicator.code),
            func.count(latest.c.indicator_code),
            func.count(latest.c.indicator_code).filter(latest.c.last_end >= since),
            func.max(latest.c.last_end),
        )
        .outerjoin(latest, latest.c.indicator_code == Indicator.code)
        .group_by(Indicator.theme)
    )
    covered = {row[0]: CoverageRow(*row) for row in await session.execute(statement)}
    return [covered.get(theme, CoverageRow(theme, 0, 0, 0, None)) for theme in Theme]
