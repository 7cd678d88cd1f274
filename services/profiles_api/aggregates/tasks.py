"""The aggregates' background work: what to recompute after figures, cities or the catalogue
change, the debounced recomputation of one indicator, the full refresh (at start-up and
nightly: the coverage matrix depends on today's date) and the sweep of overdue requests.

Handlers only record requests and enqueue the debounced jobs (``requests.py``); each is
idempotent: repeating one only pushes the due time a little later. The SQL is
``compute.py``'s and ``repository.py``'s.

An indicator that cannot be computed (values whose sum overflows, a formula that overflows,
a statement cut by its timeout) never holds up the others. Each indicator is recomputed in a
savepoint of its own: a failure rolls back that indicator's work only, so it keeps the rows
it had, while the others of the job or sweep are written. The failure is logged, counted in
``mc2cm_aggregation_failures_total{indicator}`` and recorded in the run log with its error,
and the indicator keeps its request: it is tried again at its next change, by the sweep once
``FAILED_RETRY_SECONDS`` have passed, and by the nightly refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry, cron
from arq.worker import func as job
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import (
    forget_indicator,
    recompute_coverage,
    recompute_indicator,
)
from services.profiles_api.aggregates.models import AggregationRun
from services.profiles_api.aggregates.repository import (
    AggregateRepository,
    AggregationRequestRepository,
    AggregationRunRepository,
    Claim,
)
from services.profiles_api.aggregates.requests import (
    RECOMPUTE_JOB,
    from_ms,
    request_recomputation,
)
from shared.contracts.events import (
    CityUpserted,
    IndicatorChanged,
    ObservationsChanged,
    OutboxEvent,
)
from shared.jobs import DomainMetric, JobContext, Tasks, job_context

log = logging.getLogger(__name__)

#: How long the run log keeps its rows.
RUN_LOG_DAYS = 30
#: A request this long past its due time lost its job (a Redis that restarted empty, a job
#: that failed for good): the sweep fulfils it.
OVERDUE_SECONDS = 60
#: How long the sweep leaves an indicator whose recomputation failed before trying it again
#: (a failure that repeats, such as an overflow, would otherwise cost a recomputation and an
#: error every minute).
FAILED_RETRY_SECONDS = 600
#: How much of a failure's message the run log keeps.
MAX_ERROR_LENGTH = 2000
#: The full refresh may take longer than an ordinary job: it walks the whole catalogue.
REFRESH_TIMEOUT_SECONDS = 3600


def _failures_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "mc2cm_aggregation_failures_total",
        "Recomputations of an indicator's derived values and aggregates that failed (each "
        "is also in profiles.aggregation_run with its error); the other indicators go on.",
        ["indicator"],
        registry=registry,
    )


#: Failed recomputations by indicator, on the worker's registry.
FAILURES = DomainMetric(_failures_counter)


# Handlers of profiles' events.


async def on_observations_changed(worker: JobContext, event: OutboxEvent) -> None:
    """Figures changed: recompute their indicators and every indicator depending on them, in
    the periods they changed, and the coverage of the cities they changed."""
    payload = ObservationsChanged.model_validate(event.data)
    await request_recomputation(
        worker,
        {key.indicator for key in payload.keys},
        periods={key.period for key in payload.keys},
        cities={city for key in payload.keys for city in key.cities},
    )


async def on_city_upserted(worker: JobContext, event: OutboxEvent) -> None:
    """A city was added or changed: its row of the coverage matrix now; and if it moved to
    another region, the indicators whose regional aggregates still count it in the old one."""
    city = CityUpserted.model_validate(event.data).city
    async with worker.database.sessionmaker() as session, session.begin():
        await recompute_coverage(session, today=datetime.now(UTC).date(), cities=[city.code])
        moved = await AggregateRepository.from_session(session).regional_indicators_counting(
            city.code, outside=city.region.value
        )
    await request_recomputation(worker, moved, with_dependents=False)


async def on_indicator_changed(worker: JobContext, event: OutboxEvent) -> None:
    """The catalogue changed: the coverage matrix now (themes' sizes), and the indicator's
    values and aggregates, with everything depending on it, once writes pause."""
    payload = IndicatorChanged.model_validate(event.data)
    if not payload.changes_aggregation:  # a rename: nothing computed depends on it
        return
    async with worker.database.sessionmaker() as session, session.begin():
        await recompute_coverage(session, today=datetime.now(UTC).date())
    if not payload.removed:  # a removed indicator's values and aggregates went with it
        await request_recomputation(worker, {payload.code})


# Jobs.


@dataclass
class _Run:
    indicator: str | None
    trigger: str
    started_at: datetime
    requested_at: datetime | None = None
    derived_rows: int = 0
    aggregate_rows: int = 0
    coverage_rows: int = 0
    error: str | None = None


async def _now(session: AsyncSession) -> datetime:
    moment: datetime = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    return moment


def _record(session: AsyncSession, run: _Run) -> None:
    session.add(
        AggregationRun(
            indicator_code=run.indicator,
            trigger=run.trigger,
            requested_at=run.requested_at,
            started_at=run.started_at,
            finished_at=func.clock_timestamp(),
            derived_rows=run.derived_rows,
            aggregate_rows=run.aggregate_rows,
            coverage_rows=run.coverage_rows,
            error=run.error,
        )
    )


def describe(error: Exception) -> str:
    """What the run log says of a failure: the database's own message with its SQLSTATE
    (not the statement, which is long and the same every time), else the exception."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        # The driver's exception (asyncpg's), behind the dialect's adapter of it.
        cause = error.orig.__cause__ or error.orig
        sqlstate = getattr(cause, "sqlstate", None)
        text_ = f"{sqlstate}: {cause}" if sqlstate else str(cause)
    else:
        text_ = f"{type(error).__name__}: {error}"
    return text_[:MAX_ERROR_LENGTH]


async def _recompute(
    worker: JobContext,
    session: AsyncSession,
    catalogue: Catalogue,
    code: str,
    run: _Run,
    periods: list[str] | None = None,
) -> None:
    """Recompute one indicator (of ``periods`` only, if given) in a savepoint; if it fails,
    only its own work is undone and ``run.error`` says why (logged and counted). A lost
    connection is not the indicator's failure: it propagates, and the whole job is tried
    again."""
    try:
        async with session.begin_nested():
            definition = catalogue.get(code)
            if definition is None:
                await forget_indicator(session, code)
                return
            result = await recompute_indicator(
                session,
                definition,
                timeout_seconds=worker.settings.aggregation_statement_timeout_seconds,
                periods=periods,
            )
    except Exception as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise
        run.error = describe(exc)
        FAILURES.of(worker.registry).labels(code).inc()
        log.error(
            "recomputing the aggregates of %s failed (%s); its previous values are kept and "
            "it will be tried again",
            code,
            run.error,
            exc_info=exc,
        )
        return
    run.derived_rows, run.aggregate_rows = result.derived_rows, result.aggregate_rows


async def recompute_aggregates(ctx: dict[str, Any], indicator: str, due_ms: int) -> str:
    """Job: recompute ``indicator`` if its request is still the one due at ``due_ms``, in
    the periods its changes touched.

    Derived indicators it reads whose requests are due too are recomputed first, in the same
    transaction, so a chain of formulas reads fresh inputs. Then the coverage of the themes
    concerned, for the cities the changes touched. An indicator that fails keeps its request
    and does not stop the others; if it is ``indicator`` itself, the job is tried again (up
    to ``job_max_tries``), after which the sweep takes it over.
    """
    worker = job_context(ctx)
    job_try: int = ctx.get("job_try", 1)
    try:
        async with worker.database.sessionmaker() as session, session.begin():
            started = await _now(session)
            requests = AggregationRequestRepository.from_session(session)
            own = await requests.claim(indicator, from_ms(due_ms))
            if own is None:
                return f"{indicator}: superseded by a later change"
            catalogue = await Catalogue.load(session)
            claims: dict[str, Claim] = {own.indicator: own}
            for taken in await requests.claim_due(catalogue.derived_inputs(indicator), own.due_at):
                claims[taken.indicator] = taken
            runs = []
            for code in catalogue.in_order(claims):
                taken = claims[code]
                run = _Run(code, "change", started, requested_at=taken.requested_at)
                await _recompute(worker, session, catalogue, code, run, taken.periods)
                if run.error is not None:
                    await requests.keep(
                        code,
                        requested_at=taken.requested_at,
                        due_at=taken.due_at,
                        periods=taken.periods,
                        cities=taken.cities,
                    )
                runs.append(run)
            themes = sorted({d.theme for code in claims if (d := catalogue.get(code)) is not None})
            if themes:
                runs[-1].coverage_rows = await recompute_coverage(
                    session,
                    today=datetime.now(UTC).date(),
                    themes=themes,
                    cities=_cities_of(claims.values()),
                )
            for run in runs:
                _record(session, run)
    except Exception as exc:
        if job_try >= worker.settings.job_max_tries:
            raise
        log.warning("recomputing %s failed (try %d), retrying: %r", indicator, job_try, exc)
        raise Retry(defer=min(2**job_try, 60)) from exc
    failed = {run.indicator for run in runs if run.error is not None}
    if indicator in failed and job_try < worker.settings.job_max_tries:
        # What the others wrote is committed; the indicator's request waits for this retry.
        raise Retry(defer=min(2**job_try, 60))
    return f"{indicator}: " + ", ".join(_summary(run) for run in runs)


def _cities_of(claims: Iterable[Claim]) -> list[str] | None:
    """The cities whose coverage the claimed changes may have moved (None: every city)."""
    cities: set[str] = set()
    for claim in claims:
        if claim.cities is None:
            return None
        cities.update(claim.cities)
    return sorted(cities)


def _summary(run: _Run) -> str:
    if run.error is not None:
        return f"{run.indicator} failed ({run.error})"
    return f"{run.indicator} {run.derived_rows} derived, {run.aggregate_rows} aggregates"


async def _refresh_one(worker: JobContext, code: str, trigger: str) -> _Run:
    """Recompute one indicator in its own transaction, taking its request if one waits; if
    it fails, it keeps (or is given) a request, so it is tried again."""
    async with worker.database.sessionmaker() as session, session.begin():
        run = _Run(code, trigger, await _now(session))
        requests = AggregationRequestRepository.from_session(session)
        pending = await requests.claim_any(code)
        run.requested_at = pending.requested_at if pending else None
        # The definition as it is now, not as it was when a long refresh began.
        await _recompute(worker, session, await Catalogue.load(session), code, run)
        if run.error is not None:
            await requests.keep(
                code,
                requested_at=pending.requested_at if pending else run.started_at,
                due_at=pending.due_at if pending else run.started_at,
            )
        _record(session, run)
    return run


async def _refresh_each(worker: JobContext, codes: list[str], trigger: str) -> list[_Run]:
    """Recompute ``codes`` one by one, each in its own transaction; the runs that went as
    far as their record (an indicator whose very transaction failed is logged and counted,
    and the next one is tried)."""
    runs = []
    for code in codes:
        try:
            runs.append(await _refresh_one(worker, code, trigger))
        except Exception:
            FAILURES.of(worker.registry).labels(code).inc()
            log.exception("recomputing the aggregates of %s (%s) failed", code, trigger)
    return runs


async def sweep_overdue(ctx: dict[str, Any]) -> str:
    """Cron job (every minute): fulfil requests whose job never came, one indicator at a
    time; one that fails does not stop the sweep."""
    worker = job_context(ctx)
    async with worker.database.sessionmaker() as session:
        catalogue = await Catalogue.load(session)
        codes = await AggregationRequestRepository.from_session(session).overdue(
            grace=timedelta(seconds=OVERDUE_SECONDS),
            retry=timedelta(seconds=FAILED_RETRY_SECONDS),
        )
    runs = await _refresh_each(worker, catalogue.in_order(codes), "sweep")
    failed = len(codes) - sum(run.error is None for run in runs)
    if codes:
        log.warning(
            "recomputed %d indicators whose requests had lost their job (%d failed)",
            len(codes),
            failed,
        )
    return f"{len(codes)} overdue, {failed} failed"


async def refresh_all(ctx: dict[str, Any]) -> dict[str, int]:
    """Recompute every indicator (inputs before the formulas reading them), each in its own
    transaction, then the whole coverage matrix; prune the run log. What it wrote."""
    worker = job_context(ctx)
    async with worker.database.sessionmaker() as session:
        catalogue = await Catalogue.load(session)
    codes = catalogue.in_order(catalogue.definitions)
    # One indicator's failure must not leave the others stale until tomorrow.
    runs = [run for run in await _refresh_each(worker, codes, "refresh") if run.error is None]
    totals = {
        "indicators": len(runs),
        "failed": len(codes) - len(runs),
        "derived_rows": sum(run.derived_rows for run in runs),
        "aggregate_rows": sum(run.aggregate_rows for run in runs),
    }
    async with worker.database.sessionmaker() as session, session.begin():
        run = _Run(None, "refresh", await _now(session))
        run.coverage_rows = await recompute_coverage(session, today=datetime.now(UTC).date())
        # Requests of indicators since removed from the catalogue have nothing left to do.
        await AggregationRequestRepository.from_session(session).drop_removed()
        await AggregationRunRepository.from_session(session).prune(keep_days=RUN_LOG_DAYS)
        _record(session, run)
    totals["coverage_rows"] = run.coverage_rows
    return totals


async def refresh_aggregates(ctx: dict[str, Any]) -> str:
    """Cron job (start-up and nightly): the full refresh."""
    totals = await refresh_all(ctx)
    if totals["failed"]:
        log.error("aggregate refresh: %d indicators failed", totals["failed"])
    return ", ".join(f"{name} {count}" for name, count in totals.items())


TASKS = Tasks(
    handlers={
        ObservationsChanged.event_type: [on_observations_changed],
        CityUpserted.event_type: [on_city_upserted],
        IndicatorChanged.event_type: [on_indicator_changed],
    },
    functions=[job(recompute_aggregates, name=RECOMPUTE_JOB)],
    cron_jobs=[
        # Nightly, since coverage moves with the date, and at start-up (demo data, lost jobs).
        cron(
            refresh_aggregates,
            name="refresh_aggregates",
            hour={3},
            minute={15},
            second={0},
            run_at_startup=True,
            timeout=REFRESH_TIMEOUT_SECONDS,
        ),
        cron(sweep_overdue, name="sweep_overdue_aggregations", second={40}),
    ],
    metrics=[FAILURES],
)
