"""Reading what the worker computed: aggregates, derived values, the coverage matrix, and
the log of its recomputations.

The computation itself is in ``compute.py`` (run by the worker); reads never compute.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.models import (
    Aggregate,
    AggregationRun,
    Coverage,
    DerivedValue,
)
from services.profiles_api.aggregates.repository import (
    AggregateFilter,
    AggregateRepository,
    DerivedFilter,
    RunFilter,
)
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.suppression import Suppression
from shared.pagination import PageParams


async def _known_indicators(session: AsyncSession, codes: Sequence[str]) -> dict[str, Indicator]:
    catalogue = await IndicatorRepository.from_session(session).by_codes(list(codes))
    if missing := [code for code in codes if code not in catalogue]:
        raise FieldProblem("indicator", f"unknown indicator(s): {', '.join(missing)}")
    return catalogue


async def _check_cities(session: AsyncSession, codes: Sequence[str]) -> None:
    if not codes:
        return
    known = await CityRepository.from_session(session).codes()
    if unknown := [code for code in codes if code not in known]:
        raise FieldProblem("city", f"unknown city code(s): {', '.join(unknown)}")


async def list_aggregates(
    session: AsyncSession, criteria: AggregateFilter, page: PageParams
) -> Sequence[Row[Aggregate, str]]:
    """A page of aggregates with their indicator's unit; ``FieldProblem`` (``indicator``)
    for an unknown indicator."""
    await _known_indicators(session, criteria.indicators)
    return await AggregateRepository.from_session(session).query(criteria, page)


async def with_hidden_contributions(
    session: AsyncSession, aggregates: Sequence[Aggregate], suppression: Suppression
) -> set[int]:
    """Ids of the ``aggregates`` combining a derived value hidden from the caller (computed
    from a small count): without them, the aggregate less the other cities' values would
    give it."""
    contributions = await AggregateRepository.from_session(session).derived_contributions(
        aggregates
    )
    hidden = {
        (d.indicator_code, d.period, d.scope, d.disaggregation, d.city_code)
        for d in contributions
        if suppression.hides_derived(
            d.city_code, d.indicator_code, d.disaggregation, d.value, d.inputs
        )[0]
    }
    return {
        a.id
        for a in aggregates
        if any(
            (a.indicator_code, a.period, a.scope, a.disaggregation, city) in hidden
            for city in a.derived_cities
        )
    }


async def list_derived_values(
    session: AsyncSession, criteria: DerivedFilter, page: PageParams
) -> Sequence[Row[DerivedValue, str]]:
    """A page of derived values with their unit; ``FieldProblem`` (``indicator``, ``city``)
    for an unknown code or an indicator without a formula."""
    catalogue = await _known_indicators(session, criteria.indicators)
    if published := [code for code, indicator in catalogue.items() if indicator.formula is None]:
        raise FieldProblem(
            "indicator",
            f"{', '.join(sorted(published))} has no formula: its values are published, not derived",
        )
    await _check_cities(session, criteria.cities)
    return await AggregateRepository.from_session(session).derived_values(criteria, page)


async def coverage_matrix(
    session: AsyncSession, page: PageParams, *, cities: Sequence[str], theme: str | None
) -> Sequence[Coverage]:
    """A page of the coverage matrix, by city then theme; ``FieldProblem`` (``city``) for
    an unknown city."""
    await _check_cities(session, cities)
    return await AggregateRepository.from_session(session).coverage(
        page, cities=cities, theme=theme
    )


async def list_runs(
    session: AsyncSession, criteria: RunFilter, page: PageParams
) -> Sequence[AggregationRun]:
    """A page of the worker's recomputations, the latest first, failed ones with their error
    (runs of indicators since removed from the catalogue included)."""
    return await AggregateRepository.from_session(session).runs(criteria, page)
