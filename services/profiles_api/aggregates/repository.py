"""The queries of the aggregates: reads of what the worker computed, and the bookkeeping of
its recomputations (debounced requests, the run log), each as one set-based statement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    String,
    any_,
    case,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased

from services.profiles_api.aggregates.models import (
    Aggregate,
    AggregationRequest,
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

    async def regional_indicators_counting(self, city: str, *, outside: str) -> Sequence[str]:
        """The indicators with a regional aggregate of a region other than ``outside`` that
        counts ``city`` (a city that moved to region ``outside``)."""
        return (
            await self.session.scalars(
                select(Aggregate.indicator_code)
                .distinct()
                .where(
                    Aggregate.group_kind == "region",
                    Aggregate.region != outside,
                    literal(city, String) == any_(Aggregate.cities),
                )
            )
        ).all()


@dataclass(frozen=True)
class Claim:
    """A recomputation request taken by the transaction that will fulfil it."""

    indicator: str
    requested_at: datetime
    due_at: datetime
    # The periods and cities the waiting changes touched; None for all of them.
    periods: list[str] | None = None
    cities: list[str] | None = None


_CLAIMED = (
    AggregationRequest.indicator_code,
    AggregationRequest.requested_at,
    AggregationRequest.due_at,
    AggregationRequest.periods,
    AggregationRequest.cities,
)


def _merged(kept: SQLColumnExpression[Any], new: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The periods (or cities) of a request and of one added to it: both sets, or null (all
    of them) if either is."""
    element = func.unnest(func.array_cat(kept, new)).column_valued("element")
    both = func.array(select(element).distinct().order_by(element).scalar_subquery())
    return case((kept.is_(None) | new.is_(None), null()), else_=both)


def _listed(values: Iterable[str] | None, length: int) -> ColumnElement[Any]:
    return null() if values is None else literal(sorted(set(values)), ARRAY(String(length)))


class AggregationRequestRepository(Repository[AggregationRequest]):
    """The debounced recomputation requests, one row per indicator (``requests.py``)."""

    model = AggregationRequest

    async def request(
        self,
        codes: Iterable[str],
        *,
        debounce: timedelta,
        periods: Iterable[str] | None = None,
        cities: Iterable[str] | None = None,
    ) -> dict[str, datetime]:
        """Upsert the requests of ``codes``, due ``debounce`` from now (whole milliseconds),
        never earlier than a due time already set, for ``periods`` and ``cities`` besides
        those already asked for (``None``: all of them); the due time of each. Rows are
        written in code order, so two requests never deadlock."""
        code = func.unnest(literal(sorted(set(codes)), ARRAY(String))).column_valued("code")
        now = func.clock_timestamp()
        values = insert(AggregationRequest).from_select(
            ["indicator_code", "due_at", "requested_at", "periods", "cities"],
            select(
                code,
                func.date_trunc("milliseconds", now + debounce),
                now,
                _listed(periods, 10),
                _listed(cities, 5),
            ).order_by(code),
        )
        excluded = values.excluded
        statement = values.on_conflict_do_update(
            index_elements=[AggregationRequest.indicator_code],
            set_={
                "due_at": func.greatest(AggregationRequest.due_at, excluded.due_at),
                "periods": _merged(AggregationRequest.periods, excluded.periods),
                "cities": _merged(AggregationRequest.cities, excluded.cities),
            },
        ).returning(AggregationRequest.indicator_code, AggregationRequest.due_at)
        return {row.indicator_code: row.due_at for row in await self.session.execute(statement)}

    async def _take(self, *criteria: ColumnElement[bool]) -> list[Claim]:
        rows = await self.session.execute(
            delete(AggregationRequest)
            .where(*criteria)
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        )
        return [Claim(*row) for row in rows]

    async def claim(self, indicator: str, due_at: datetime) -> Claim | None:
        """Take the indicator's request if it is due by ``due_at`` (the one a job was
        enqueued for, or older); ``None`` when a newer change pushed it later or another job
        already took it."""
        taken = await self._take(
            AggregationRequest.indicator_code == indicator, AggregationRequest.due_at <= due_at
        )
        return taken[0] if taken else None

    async def claim_due(self, indicators: Iterable[str], due_at: datetime) -> list[Claim]:
        """Take the requests of ``indicators`` due by ``due_at``, waiting for a job that holds
        one to finish. Rows are locked in code order."""
        codes = sorted(set(indicators))
        if not codes:
            return []
        due = (
            select(AggregationRequest.indicator_code)
            .where(
                AggregationRequest.indicator_code.in_(codes), AggregationRequest.due_at <= due_at
            )
            .order_by(AggregationRequest.indicator_code)
            .with_for_update()
        )
        return await self._take(AggregationRequest.indicator_code.in_(due))

    async def claim_any(self, indicator: str) -> Claim | None:
        """Take the indicator's request whatever its due time."""
        taken = await self._take(AggregationRequest.indicator_code == indicator)
        return taken[0] if taken else None

    async def keep(
        self,
        indicator: str,
        *,
        requested_at: datetime,
        due_at: datetime,
        periods: list[str] | None = None,
        cities: list[str] | None = None,
    ) -> None:
        """Put back (or leave) a request of ``indicator`` for ``periods`` and ``cities``
        (``None``: all of them); one written meanwhile keeps its later due time and adds its
        periods and cities, and the earliest waiting change is kept."""
        values = insert(AggregationRequest).values(
            indicator_code=indicator,
            due_at=due_at,
            requested_at=requested_at,
            periods=periods,
            cities=cities,
        )
        await self.session.execute(
            values.on_conflict_do_update(
                index_elements=[AggregationRequest.indicator_code],
                set_={
                    "requested_at": func.least(
                        AggregationRequest.requested_at, values.excluded.requested_at
                    ),
                    "periods": _merged(AggregationRequest.periods, values.excluded.periods),
                    "cities": _merged(AggregationRequest.cities, values.excluded.cities),
                },
            )
        )

    async def overdue(self, *, grace: timedelta, retry: timedelta) -> Sequence[str]:
        """Indicators whose request is more than ``grace`` past due, except those whose
        latest recomputation failed less than ``retry`` ago; by code."""
        run = aliased(AggregationRun)
        latest = (
            select(run.id)
            .where(run.indicator_code == AggregationRequest.indicator_code)
            .order_by(run.started_at.desc())
            .limit(1)
            .correlate(AggregationRequest)
            .scalar_subquery()
        )
        failed_lately = exists().where(
            AggregationRun.id == latest,
            AggregationRun.error.is_not(None),
            AggregationRun.finished_at > func.now() - retry,
        )
        return (
            await self.session.scalars(
                select(AggregationRequest.indicator_code)
                .where(AggregationRequest.due_at < func.now() - grace, ~failed_lately)
                .order_by(AggregationRequest.indicator_code)
            )
        ).all()

    async def drop_removed(self) -> None:
        """Delete the requests of indicators no longer in the catalogue."""
        await self.session.execute(
            delete(AggregationRequest)
            .where(AggregationRequest.indicator_code.not_in(select(Indicator.code)))
            .execution_options(synchronize_session=False)
        )


class AggregationRunRepository(Repository[AggregationRun]):
    """The run log of recomputations."""

    model = AggregationRun

    async def prune(self, *, keep_days: int) -> None:
        """Delete the runs started more than ``keep_days`` ago."""
        await self.session.execute(
            delete(AggregationRun)
            .where(AggregationRun.started_at < func.now() - timedelta(days=keep_days))
            .execution_options(synchronize_session=False)
        )
