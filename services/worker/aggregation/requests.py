"""Debounced recomputation requests: one row per indicator in ``profiles.aggregation_request``.

Every change upserts the indicator's row with ``due_at = now + debounce`` (never earlier than
a due time already set) and enqueues a job keyed by the indicator and that due time, deferred
until it. A job whose request has since been pushed later by a newer change does nothing;
the job of the last change claims the row (``DELETE … RETURNING``) in the transaction that
recomputes. A burst of writes thus gives one recomputation, on its trailing edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import Catalogue
from services.worker.context import WorkerContext

#: The job that recomputes one indicator once its request is due.
RECOMPUTE_JOB = "recompute_aggregates"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (due times are whole milliseconds)."""
    return (moment - _EPOCH) // _MILLISECOND


def from_ms(ms: int) -> datetime:
    return _EPOCH + ms * _MILLISECOND


def job_id(indicator: str, due_at: datetime) -> str:
    return f"aggregate:{indicator}:{to_ms(due_at)}"


@dataclass(frozen=True)
class Claim:
    """A request taken by the transaction that will fulfil it."""

    indicator: str
    requested_at: datetime
    due_at: datetime


async def request_recomputation(
    worker: WorkerContext, indicators: Iterable[str], *, with_dependents: bool = True
) -> dict[str, datetime]:
    """Ask for ``indicators`` (and, by default, what depends on them) to be recomputed once
    writes pause; the due time of each request. Safe to repeat: a repeat only delays."""
    codes = set(indicators)
    if not codes:
        return {}
    async with worker.database.sessionmaker() as session, session.begin():
        if with_dependents:
            codes = (await Catalogue.load(session)).affected_by(codes)
        rows = await session.execute(
            text(
                """
                INSERT INTO profiles.aggregation_request AS r (indicator_code, due_at, requested_at)
                SELECT code,
                       date_trunc('milliseconds',
                                  clock_timestamp() + make_interval(secs => :debounce)),
                       clock_timestamp()
                FROM unnest(CAST(:codes AS text[])) AS code
                ORDER BY code
                ON CONFLICT (indicator_code) DO UPDATE
                    SET due_at = greatest(r.due_at, EXCLUDED.due_at)
                RETURNING r.indicator_code, r.due_at
                """
            ),
            {"codes": sorted(codes), "debounce": worker.settings.aggregation_debounce_seconds},
        )
        due = {row.indicator_code: row.due_at for row in rows}
    # After the commit: a job that starts sees the request. If enqueueing fails, the event's
    # handler fails and runs again, which upserts and enqueues again.
    for code, due_at in sorted(due.items()):
        await worker.enqueue(
            RECOMPUTE_JOB, code, to_ms(due_at), _job_id=job_id(code, due_at), _defer_until=due_at
        )
    return due


async def claim(session: AsyncSession, indicator: str, due_ms: int) -> Claim | None:
    """Take the indicator's request if it is the one this job was enqueued for (or older);
    ``None`` when a newer change pushed it later or another job already took it."""
    row = (
        await session.execute(
            text(
                "DELETE FROM profiles.aggregation_request "
                "WHERE indicator_code = :code AND due_at <= :due "
                "RETURNING indicator_code, requested_at, due_at"
            ),
            {"code": indicator, "due": from_ms(due_ms)},
        )
    ).first()
    return Claim(row.indicator_code, row.requested_at, row.due_at) if row else None


async def claim_due(
    session: AsyncSession, indicators: Iterable[str], due_at: datetime
) -> list[Claim]:
    """Take the requests of ``indicators`` due by ``due_at``, waiting for a job that holds
    one to finish (its result is then read, not recomputed). Rows are locked in code order."""
    codes = sorted(set(indicators))
    if not codes:
        return []
    rows = await session.execute(
        text(
            """
            DELETE FROM profiles.aggregation_request r
            USING (
                SELECT indicator_code FROM profiles.aggregation_request
                WHERE indicator_code = ANY(CAST(:codes AS text[])) AND due_at <= :due
                ORDER BY indicator_code
                FOR UPDATE
            ) AS due
            WHERE r.indicator_code = due.indicator_code
            RETURNING r.indicator_code, r.requested_at, r.due_at
            """
        ),
        {"codes": codes, "due": due_at},
    )
    return [Claim(row.indicator_code, row.requested_at, row.due_at) for row in rows]


async def claim_any(session: AsyncSession, indicator: str) -> Claim | None:
    """Take the indicator's request whatever its due time (a full refresh covers it: a
    request exists only for changes already committed)."""
    row = (
        await session.execute(
            text(
                "DELETE FROM profiles.aggregation_request WHERE indicator_code = :code "
                "RETURNING indicator_code, requested_at, due_at"
            ),
            {"code": indicator},
        )
    ).first()
    return Claim(row.indicator_code, row.requested_at, row.due_at) if row else None


async def keep_request(
    session: AsyncSession, indicator: str, *, requested_at: datetime, due_at: datetime
) -> None:
    """Put back the request of an indicator whose recomputation failed (its claim is undone),
    or leave one if it had none, so that it is tried again. A request written meanwhile by a
    newer change keeps its later due time; the earliest waiting change is kept."""
    await session.execute(
        text(
            """
            INSERT INTO profiles.aggregation_request AS r (indicator_code, due_at, requested_at)
            VALUES (:code, :due, :requested)
            ON CONFLICT (indicator_code) DO UPDATE
                SET requested_at = least(r.requested_at, EXCLUDED.requested_at)
            """
        ),
        {"code": indicator, "due": due_at, "requested": requested_at},
    )


async def overdue(
    session: AsyncSession, *, grace_seconds: float, retry_seconds: float
) -> list[str]:
    """Indicators whose request is more than ``grace_seconds`` past due (its job was lost),
    except those whose latest recomputation failed less than ``retry_seconds`` ago: an
    indicator that cannot be computed is tried again at that pace, not at every sweep."""
    rows = await session.scalars(
        text(
            """
            SELECT r.indicator_code FROM profiles.aggregation_request r
            WHERE r.due_at < now() - make_interval(secs => :grace)
              AND NOT EXISTS (
                  SELECT 1 FROM (
                      SELECT run.error, run.finished_at FROM profiles.aggregation_run run
                      WHERE run.indicator_code = r.indicator_code
                      ORDER BY run.started_at DESC
                      LIMIT 1
                  ) latest
                  WHERE latest.error IS NOT NULL
                    AND latest.finished_at > now() - make_interval(secs => :retry)
              )
            ORDER BY r.indicator_code
            """
        ),
        {"grace": grace_seconds, "retry": retry_seconds},
    )
    return list(rows.all())
