"""Reading what the worker computed: aggregates, derived values, the coverage matrix, and
the log of its recomputations.

The computation itself is in ``compute.py`` (run by the worker); reads never compute.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.models import (
    Aggregate,
    AggregationRun,
    Coverage,
)
from services.profiles_api.aggregates.repository import (
    AGGREGATE_ORDER,
    DERIVED_ORDER,
    AggregateFilter,
    AggregateRepository,
    DerivedFilter,
    RunFilter,
)
from services.profiles_api.aggregates.schemas import AggregateRead, DerivedValueRead
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.suppression import Suppression
from shared.pagination import Page, PageParams, build_page


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
    session: AsyncSession, reader: Reader, criteria: AggregateFilter, page: PageParams
) -> Page[AggregateRead]:
    """A page of aggregates as ``reader`` may see them (suppressed where they would reveal a
    small count); ``FieldProblem`` (``indicator``) for an unknown indicator."""
    await _known_indicators(session, criteria.indicators)
    rows = await AggregateRepository.from_session(session).query(criteria, page)
    suppression = await Suppression.load(session, reader)
    hidden = await with_hidden_contributions(
        session, [aggregate for aggregate, _ in rows[: page.limit]], suppression
    )
    return build_page(
        rows,
        page,
        key=lambda row: [getattr(row[0], column.key) for column in AGGREGATE_ORDER],
        item=lambda row: AggregateRead.of(
            row[0], row[1], suppression, hidden_contribution=row[0].id in hidden
        ),
    )


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
    session: AsyncSession, reader: Reader, criteria: DerivedFilter, page: PageParams
) -> Page[DerivedValueRead]:
    """A page of derived values as ``reader`` may see them (suppressed, with the input, where
    computed from a small count); ``FieldProblem`` (``indicator``, ``city``) for an unknown
    code or an indicator without a formula."""
    catalogue = await _known_indicators(session, criteria.indicators)
    if published := [code for code, indicator in catalogue.items() if indicator.formula is None]:
        raise FieldProblem(
            "indicator",
            f"{', '.join(sorted(published))} has no formula: its values are published, not derived",
        )
    await _check_cities(session, criteria.cities)
    rows = await AggregateRepository.from_session(session).derived_values(criteria, page)
    suppression = await Suppression.load(session, reader)
    return build_page(
        rows,
        page,
        key=lambda row: [getattr(row[0], column.key) for column in DERIVED_ORDER],
        item=lambda row: DerivedValueRead.of(row[0], row[1], suppression),
    )


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
