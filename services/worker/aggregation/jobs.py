"""The aggregation jobs: the debounced recomputation of one indicator, and the full refresh
run at start-up and nightly (the coverage matrix depends on today's date)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq import Retry
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import (
    Recomputed,
    forget_indicator,
    recompute_coverage,
    recompute_indicator,
)
from services.profiles_api.aggregates.models import AggregationRun
from services.worker.aggregation.requests import Claim, claim, claim_any, claim_due
from services.worker.context import worker_context

log = logging.getLogger(__name__)

#: How long the run log keeps its rows.
RUN_LOG_DAYS = 30
#: A request this long past its due time lost its job (a Redis that restarted empty, a job
#: that failed for good): the sweep fulfils it.
OVERDUE_SECONDS = 60


@dataclass
class _Run:
    indicator: str | None
    trigger: str
    started_at: datetime
    requested_at: datetime | None = None
    derived_rows: int = 0
    aggregate_rows: int = 0
    coverage_rows: int = 0


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
        )
    )


async def _recompute(
    session: AsyncSession, catalogue: Catalogue, code: str, run: _Run, *, timeout_seconds: int
) -> Recomputed | None:
    definition = catalogue.get(code)
    if definition is None:
        await forget_indicator(session, code)
        return None
    result = await recompute_indicator(session, definition, timeout_seconds=timeout_seconds)
    run.derived_rows, run.aggregate_rows = result.derived_rows, result.aggregate_rows
    return result


async def recompute_aggregates(ctx: dict[str, Any], indicator: str, due_ms: int) -> str:
    """Job: recompute ``indicator`` if its request is still the one due at ``due_ms``.

    Derived indicators it reads whose requests are due too are recomputed first, in the same
    transaction, so a chain of formulas reads fresh inputs. Then the coverage of the themes
    concerned.
    """
    worker = worker_context(ctx)
    try:
        async with worker.database.sessionmaker() as session, session.begin():
            started = await _now(session)
            own = await claim(session, indicator, due_ms)
            if own is None:
                return f"{indicator}: superseded by a later change"
            catalogue = await Catalogue.load(session)
            claims: dict[str, Claim] = {own.indicator: own}
            for taken in await claim_due(session, catalogue.derived_inputs(indicator), own.due_at):
                claims[taken.indicator] = taken
            runs = []
            for code in catalogue.in_order(claims):
                run = _Run(code, "change", started, requested_at=claims[code].requested_at)
                await _recompute(
                    session,
                    catalogue,
                    code,
                    run,
                    timeout_seconds=worker.settings.aggregation_statement_timeout_seconds,
                )
                runs.append(run)
            themes = sorted({d.theme for code in claims if (d := catalogue.get(code)) is not None})
            if themes:
                runs[-1].coverage_rows = await recompute_coverage(
                    session, today=datetime.now(UTC).date(), themes=themes
                )
            for run in runs:
                _record(session, run)
    except Exception as exc:
        job_try: int = ctx.get("job_try", 1)
        if job_try >= worker.settings.job_max_tries:
            raise
        log.warning("recomputing %s failed (try %d), retrying: %r", indicator, job_try, exc)
        raise Retry(defer=min(2**job_try, 60)) from exc
    return f"{indicator}: " + ", ".join(
        f"{run.indicator} {run.derived_rows} derived, {run.aggregate_rows} aggregates"
        for run in runs
    )


async def _refresh_one(ctx: dict[str, Any], code: str, trigger: str) -> _Run:
    """Recompute one indicator in its own transaction, taking its request if one waits."""
    worker = worker_context(ctx)
    async with worker.database.sessionmaker() as session, session.begin():
        run = _Run(code, trigger, await _now(session))
        pending = await claim_any(session, code)
        run.requested_at = pending.requested_at if pending else None
        # The definition as it is now, not as it was when a long refresh began.
        await _recompute(
            session,
            await Catalogue.load(session),
            code,
            run,
            timeout_seconds=worker.settings.aggregation_statement_timeout_seconds,
        )
        _record(session, run)
    return run


async def sweep_overdue(ctx: dict[str, Any]) -> str:
    """Cron job (every minute): fulfil requests whose job never came."""
    worker = worker_context(ctx)
    async with worker.database.sessionmaker() as session:
        catalogue = await Catalogue.load(session)
        overdue = (
            await session.scalars(
                text(
                    "SELECT indicator_code FROM profiles.aggregation_request "
                    "WHERE due_at < now() - make_interval(secs => :grace)"
                ),
                {"grace": OVERDUE_SECONDS},
            )
        ).all()
    for code in catalogue.in_order(overdue):
        await _refresh_one(ctx, code, "sweep")
    if overdue:
        log.warning("recomputed %d indicators whose requests had lost their job", len(overdue))
    return f"{len(overdue)} overdue"


async def refresh_all(ctx: dict[str, Any]) -> dict[str, int]:
    """Recompute every indicator (inputs before the formulas reading them), each in its own
    transaction, then the whole coverage matrix; prune the run log. What it wrote."""
    worker = worker_context(ctx)
    async with worker.database.sessionmaker() as session:
        catalogue = await Catalogue.load(session)
    totals = {"indicators": 0, "failed": 0, "derived_rows": 0, "aggregate_rows": 0}
    for code in catalogue.in_order(catalogue.definitions):
        try:
            run = await _refresh_one(ctx, code, "refresh")
        except Exception:
            # One indicator's failure must not leave the others stale until tomorrow.
            log.exception("refreshing the aggregates of %s failed", code)
            totals["failed"] += 1
            continue
        totals["indicators"] += 1
        totals["derived_rows"] += run.derived_rows
        totals["aggregate_rows"] += run.aggregate_rows
    async with worker.database.sessionmaker() as session, session.begin():
        run = _Run(None, "refresh", await _now(session))
        run.coverage_rows = await recompute_coverage(session, today=datetime.now(UTC).date())
        # Requests of indicators since removed from the catalogue have nothing left to do.
        await session.execute(
            text(
                "DELETE FROM profiles.aggregation_request WHERE indicator_code NOT IN "
                "(SELECT code FROM profiles.indicator)"
            )
        )
        await session.execute(
            delete(AggregationRun).where(
                AggregationRun.started_at < func.now() - func.make_interval(0, 0, 0, RUN_LOG_DAYS)
            )
        )
        _record(session, run)
    totals["coverage_rows"] = run.coverage_rows
    return totals


async def refresh_aggregates(ctx: dict[str, Any]) -> str:
    """Cron job (start-up and nightly): the full refresh."""
    totals = await refresh_all(ctx)
    if totals["failed"]:
        log.error("aggregate refresh: %d indicators failed", totals["failed"])
    return ", ".join(f"{name} {count}" for name, count in totals.items())
