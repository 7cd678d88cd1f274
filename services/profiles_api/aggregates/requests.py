"""Debounced recomputation requests: one row per indicator in ``profiles.aggregation_request``.

Every change upserts the indicator's row with ``due_at = now + debounce`` (never earlier than
a due time already set) and enqueues a job keyed by the indicator and that due time, deferred
until it. A job whose request has since been pushed later by a newer change does nothing;
the job of the last change claims the row (``DELETE … RETURNING``) in the transaction that
recomputes. A burst of writes thus gives one recomputation, on its trailing edge. A request
names the periods and cities its changes touched (the union of them over a burst; none
named: all of them), and the job recomputes only those periods, and the coverage of those
cities. The statements are
``AggregationRequestRepository``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.repository import AggregationRequestRepository
from shared.jobs import JobContext

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


async def request_recomputation(
    worker: JobContext,
    indicators: Iterable[str],
    *,
    with_dependents: bool = True,
    periods: Iterable[str] | None = None,
    cities: Iterable[str] | None = None,
) -> dict[str, datetime]:
    """Ask for ``indicators`` (and, by default, what depends on them) to be recomputed once
    writes pause, for ``periods`` only if given (a dependent's values of a period read only
    that period's: formulas and weights match periods exactly), and the coverage of
    ``cities`` only if given; the due time of each request. Safe to repeat: a repeat only delays."""
    codes = set(indicators)
    if not codes:
        return {}
    async with worker.database.sessionmaker() as session, session.begin():
        if with_dependents:
            codes = (await Catalogue.load(session)).affected_by(codes)
        due = await AggregationRequestRepository.from_session(session).request(
            codes,
            debounce=timedelta(seconds=worker.settings.aggregation_debounce_seconds),
            periods=periods,
            cities=cities,
        )
    # After the commit: a job that starts sees the request. If enqueueing fails, the event's
    # handler fails and runs again, which upserts and enqueues again.
    for code, due_at in sorted(due.items()):
        await worker.enqueue(
            RECOMPUTE_JOB, code, to_ms(due_at), _job_id=job_id(code, due_at), _defer_until=due_at
        )
    return due
