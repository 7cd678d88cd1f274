from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.engine import Row

from services.profiles_api.aggregates.models import (
    Aggregate,
    AggregationRun,
    Coverage,
    DerivedValue,
)
from services.profiles_api.indicators.models import Indicator
from shared.pagination import PageParams, keyset
from shared.repository import Repository

#: Aggregates are listed by indicator, then period, scope, breakdown and group (the unique key).
AGGREGATE_ORDER = (
    Aggregate.indicator_code,
    Aggregate.period,
    Aggregate.scope,
    Aggregate.disaggregation,
    Aggregate.group_kind,
    Aggregate.region,
)
#: Derived values are listed by indicator, city, period, scope and breakdown (the unique key).
DERIVED_ORDER = (
    DerivedValue.indicator_code,
    DerivedValue.city_code,
    DerivedValue.period,
    DerivedValue.scope,
    DerivedValue.disaggregation,
)
COVERAGE_ORDER = (Coverage.city_code, Coverage.theme)


@dataclass
class RunFilter:
    indicators: Sequence[str] = ()
    trigger: str | None = None
    failed: bool | None = None


@dataclass
class AggregateFilter:
    indicators: Sequence[str] = ()
    period: str | None = None
    group: str | None = None
    region: str | None = None
    scope: str | None = None
    disaggregation: str | None = None


@dataclass
class DerivedFilter:
    indicators: Sequence[str] = ()
    cities: Sequence[str] = ()
    period: str | None = None
    scope: str | None = None
    disaggregation: str | None = None


class AggregateRepository(Repository[Aggregate]):
    model = Aggregate

    async def query(
        self, criteria: AggregateFilter, page: PageParams
    ) -> Sequence[Row[Aggregate, str]]:
        statement = select(Aggregate, Indicator.unit).join(
            Indicator, Indicator.code == Aggregate.indicator_code
        )
        if criteria.indicators:
            statement = statement.where(Aggregate.indicator_code.in_(criteria.indicators))
        if criteria.period is not None:
            statement = statement.where(Aggregate.period == criteria.period)
        if criteria.group is not None:
            statement = statement.where(Aggregate.group_kind == criteria.group)
        if criteria.region is not None:
            statement = statement.where(Aggregate.region == criteria.region)
        if criteria.scope is not None:
            statement = statement.where(Aggregate.scope == criteria.scope)
        if criteria.disaggregation is not None:
            statement = statement.where(Aggregate.disaggregation == criteria.disaggregation)
        return (await self.session.execute(keyset(statement, page, *AGGREGATE_ORDER))).all()

    async def derived_values(
        self, criteria: DerivedFilter, page: PageParams
    ) -> Sequence[Row[DerivedValue, str]]:
        statement = select(DerivedValue, Indicator.unit).join(
            Indicator, Indicator.code == DerivedValue.indicator_code
        )
        if criteria.indicators:
            statement = statement.where(DerivedValue.indicator_code.in_(criteria.indicators))
        if criteria.cities:
            statement = statement.where(DerivedValue.city_code.in_(criteria.cities))
        if criteria.period is not None:
            statement = statement.where(DerivedValue.period == criteria.period)
        if criteria.scope is not None:
            statement = statement.where(DerivedValue.scope == criteria.scope)
        if criteria.disaggregation is not None:
            statement = statement.where(DerivedValue.disaggregation == criteria.disaggregation)
        return (await self.session.execute(keyset(statement, page, *DERIVED_ORDER))).all()

    async def derived_contributions(
        self, aggregates: Sequence[Aggregate]
    ) -> Sequence[DerivedValue]:
        """The derived values the breakdowns among ``aggregates`` combine."""
        keys = {
            (a.indicator_code, a.period, a.scope, a.disaggregation, city)
            for a in aggregates
            if a.disaggregation
            for city in a.derived_cities
        }
        if not keys:
            return []
        statement = select(DerivedValue).where(
            tuple_(
                DerivedValue.indicator_code,
                DerivedValue.period,
                DerivedValue.scope,
                DerivedValue.disaggregation,
                DerivedValue.city_code,
            ).in_(sorted(keys))
        )
        return (await self.session.scalars(statement)).all()

    async def coverage(
        self, page: PageParams, *, cities: Sequence[str] = (), theme: str | None = None
    ) -> Sequence[Coverage]:
        statement = select(Coverage)
        if cities:
            statement = statement.where(Coverage.city_code.in_(cities))
        if theme is not None:
            statement = statement.where(Coverage.theme == theme)
        return (await self.session.scalars(keyset(statement, page, *COVERAGE_ORDER))).all()

    async def runs(self, criteria: RunFilter, page: PageParams) -> Sequence[AggregationRun]:
        """A page of the run log, the latest recorded first."""
        statement = select(AggregationRun)
        if criteria.indicators:
            statement = statement.where(AggregationRun.indicator_code.in_(criteria.indicators))
        if criteria.trigger is not None:
            statement = statement.where(AggregationRun.trigger == criteria.trigger)
        if criteria.failed is not None:
            statement = statement.where(
                AggregationRun.error.is_not(None)
                if criteria.failed
                else AggregationRun.error.is_(None)
            )
        return (
            await self.session.scalars(keyset(statement, page, AggregationRun.id, descending=True))
        ).all()
