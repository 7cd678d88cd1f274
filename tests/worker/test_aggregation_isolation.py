"""One indicator that cannot be aggregated never holds up the others.

The failures here are real ones of PostgreSQL: figures of 1e308 written straight into the
database (as figures written before the plausibility bounds were), whose network sum
overflows double precision, and a formula whose product overflows it. Each test uses
indicators of its own, made through the API, and figures of periods no other test uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from arq import Retry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.requests import to_ms
from services.profiles_api.aggregates.tasks import recompute_aggregates, sweep_overdue
from services.worker.app import open_worker
from services.worker.context import WorkerContext
from shared.auth import Role
from shared.db import Database
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.receivers import free_port

#: Both in the `europe` region of the demo catalogue.
CITIES = ("PTLIS", "ESMAD")
OVERFLOW = 1e308  # two of them sum past double precision's largest value (about 1.8e308)
FAILURES = "mc2cm_aggregation_failures_total"


@asynccontextmanager
async def database(platform: Platform) -> AsyncIterator[AsyncSession]:
    db = Database.from_settings(platform.settings, application_name="test-isolation")
    try:
        async with db.sessionmaker() as session, session.begin():
            yield session
    finally:
        await db.dispose()


@asynccontextmanager
async def worker_context(platform: Platform) -> AsyncIterator[WorkerContext]:
    """What the worker's jobs receive (its database, Redis and metrics), for calling a job
    the way arq calls it."""
    async with open_worker(platform.settings, name="test-isolation") as context:
        yield context


async def make_indicator(platform: Platform, code: str, **definition: Any) -> None:
    response = await platform.profiles.request(
        "POST",
        "/v1/indicators",
        role=Role.admin,
        json={
            "code": code,
            "names": {"en": code.replace("_", " ")},
            "theme": "demography",
            "unit": "persons",
            "aggregation": "sum",
            **definition,
        },
    )
    assert response.status_code == 201, response.text


async def write(platform: Platform, indicator: str, period: str, values: dict[str, float]) -> None:
    """Figures written through the API, as an editor would."""
    response = await platform.profiles.request(
        "POST",
        "/v1/observations",
        role=Role.admin,
        json={
            "observations": [
                {
                    "city": city,
                    "indicator": indicator,
                    "period": period,
                    "value": value,
                    "source": {"title": "Isolation test register", "kind": "register"},
                }
                for city, value in values.items()
            ]
        },
    )
    assert response.status_code == 200, response.text


async def overflow_in_database(platform: Platform, indicator: str, period: str) -> None:
    """Each of ``CITIES`` given 1e308 for ``indicator`` straight in the database, past the
    API's bounds, as figures written before them could be."""
    async with database(platform) as session:
        await session.execute(
            text(
                """
                INSERT INTO profiles.observation AS o (
                    city_code, indicator_code, period, period_start, period_end, scope,
                    disaggregation, dimensions, value, obs_status, source_id, updated_by
                )
                SELECT city, :indicator, :period, make_date(:year, 1, 1),
                       make_date(:year, 12, 31), 'municipality', '', '{}',
                       :value, 'A', (SELECT min(id) FROM profiles.source), 'legacy'
                FROM unnest(CAST(:cities AS text[])) AS city
                ON CONFLICT ON CONSTRAINT uq_observation_key DO UPDATE SET value = :value
                """
            ),
            {
                "indicator": indicator,
                "period": period,
                "year": int(period),
                "value": OVERFLOW,
                "cities": list(CITIES),
            },
        )
        await session.execute(
            text(
                "UPDATE profiles.observation SET value = :value "
                "WHERE indicator_code = :indicator AND period = :period"
            ),
            {"indicator": indicator, "period": period, "value": OVERFLOW},
        )


async def overdue_requests(platform: Platform, *indicators: str) -> None:
    """Requests of ``indicators`` two minutes past due: their jobs were lost (a Redis that
    restarted empty), so only the sweep will fulfil them."""
    async with database(platform) as session:
        await session.execute(
            text(
                """
                INSERT INTO profiles.aggregation_request (indicator_code, due_at, requested_at)
                SELECT code, now() - interval '2 minutes', now() - interval '2 minutes'
                FROM unnest(CAST(:codes AS text[])) AS code
                ON CONFLICT (indicator_code) DO UPDATE SET due_at = EXCLUDED.due_at
                """
            ),
            {"codes": list(indicators)},
        )


async def waiting_requests(platform: Platform, *indicators: str) -> set[str]:
    async with database(platform) as session:
        rows = await session.scalars(
            text(
                "SELECT indicator_code FROM profiles.aggregation_request "
                "WHERE indicator_code = ANY(CAST(:codes AS text[]))"
            ),
            {"codes": list(indicators)},
        )
        return set(rows)


async def runs_of(platform: Platform, indicator: str) -> list[dict[str, Any]]:
    """The indicator's runs, oldest first."""
    async with database(platform) as session:
        rows = await session.execute(
            text(
                "SELECT trigger, error, derived_rows, aggregate_rows "
                "FROM profiles.aggregation_run WHERE indicator_code = :code ORDER BY id"
            ),
            {"code": indicator},
        )
        return [dict(row._mapping) for row in rows]


async def network_total(platform: Platform, indicator: str, period: str) -> dict[str, Any] | None:
    """The indicator's network aggregate as the API shows it (None if it has none)."""
    response = await platform.profiles.request(
        "GET",
        "/v1/aggregates",
        params={"indicator": indicator, "period": period, "group": "network"},
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items[0] if items else None


def failures(context: WorkerContext, indicator: str) -> float:
    counted = context.metrics.registry.get_sample_value(FAILURES, {"indicator": indicator})
    return counted or 0.0


async def test_the_sweep_catches_up_every_other_indicator_when_one_overflows(
    platform: Platform,
) -> None:
    period = "2041"
    # Recomputed in code order: the failing indicator between two sound ones.
    before, broken, after = "isolation_a_sound", "isolation_b_overflowing", "isolation_c_sound"
    for code in (before, broken, after):
        await make_indicator(platform, code)
    await write(platform, before, period, {"PTLIS": 10, "ESMAD": 20})
    await write(platform, broken, period, {"PTLIS": 5, "ESMAD": 7})
    await write(platform, after, period, {"PTLIS": 1, "ESMAD": 2})

    async with worker_context(platform) as context:
        ctx = {"worker": context}
        await overdue_requests(platform, before, broken, after)
        await sweep_overdue(ctx)
        kept = await network_total(platform, broken, period)
        assert kept is not None and kept["value"] == 12, kept

        # The broken indicator's figures become 1e308 behind the API's back; the others
        # change through it. None of the changes' jobs came.
        await overflow_in_database(platform, broken, period)
        await write(platform, before, period, {"PTLIS": 11})
        await write(platform, after, period, {"PTLIS": 3})
        await overdue_requests(platform, before, broken, after)

        summary = await sweep_overdue(ctx)

        assert summary.endswith(" 1 failed"), summary
        first = await network_total(platform, before, period)
        last = await network_total(platform, after, period)
        assert first is not None and first["value"] == 31, first
        assert last is not None and last["value"] == 5, last
        # The broken indicator keeps the aggregate it had, dated when it was computed.
        still = await network_total(platform, broken, period)
        assert still == kept, (still, kept)
        [*_, failed] = await runs_of(platform, broken)
        assert failed["trigger"] == "sweep", failed
        assert failed["error"] is not None, failed
        assert "22003" in failed["error"] and "out of range" in failed["error"], failed
        assert failures(context, broken) == 1
        assert failures(context, before) == failures(context, after) == 0
        # It keeps its request, to be tried again; the others' requests are fulfilled.
        assert await waiting_requests(platform, before, broken, after) == {broken}

        # A minute later the sweep catches up a new change, leaving the failed indicator
        # until its retry is due instead of failing on it every minute.
        await write(platform, after, period, {"PTLIS": 4})
        await overdue_requests(platform, after)
        tries = len(await runs_of(platform, broken))

        await sweep_overdue(ctx)

        later = await network_total(platform, after, period)
        assert later is not None and later["value"] == 6, later
        assert len(await runs_of(platform, broken)) == tries
        assert failures(context, broken) == 1


async def test_a_recomputation_commits_the_indicators_it_could_compute(
    platform: Platform,
) -> None:
    period = "2042"
    base, share, scaled = "isolation_chain_base", "isolation_chain_copy", "isolation_chain_huge"
    await make_indicator(platform, base, aggregation="none")
    await make_indicator(platform, share, aggregation="none", formula=f"{base} * 1")
    # An administrator's formula whose product no double precision can hold.
    await make_indicator(platform, scaled, formula=f"{share} * 1e300")
    await write(platform, base, period, {"PTLIS": 5_000_000_000})
    async with database(platform) as session:
        due: datetime = await session.scalar(text("SELECT date_trunc('milliseconds', now())"))
    await overdue_requests(platform, share, scaled)

    async with worker_context(platform) as context:
        # The job of the huge indicator takes the due request of the copy it reads too.
        with pytest.raises(Retry):
            await recompute_aggregates({"worker": context, "job_try": 1}, scaled, to_ms(due))

        async with database(platform) as session:
            copied = await session.scalar(
                text(
                    "SELECT value FROM profiles.derived_value "
                    "WHERE indicator_code = :code AND city_code = 'PTLIS' AND period = :period"
                ),
                {"code": share, "period": period},
            )
        assert copied == 5_000_000_000, "the input computed beside the failure was not kept"
        [copy_run] = await runs_of(platform, share)
        assert copy_run["error"] is None and copy_run["derived_rows"] >= 1, copy_run
        [failed] = await runs_of(platform, scaled)
        assert failed["trigger"] == "change" and "out of range" in failed["error"], failed
        assert failures(context, scaled) == 1
        assert await waiting_requests(platform, share, scaled) == {scaled}

        # Its last try ends the job without an exception; the request waits for the sweep.
        ctx = {"worker": context, "job_try": context.settings.job_max_tries}
        summary = await recompute_aggregates(ctx, scaled, to_ms(due))

        assert f"{scaled} failed" in summary, summary
        assert failures(context, scaled) == 2
        assert await waiting_requests(platform, share, scaled) == {scaled}


def sample(scraped: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(scraped):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


async def test_the_running_worker_reports_a_failed_indicator_and_aggregates_the_others(
    platform: Platform,
) -> None:
    period = "2043"
    broken, sound = "isolation_live_overflowing", "isolation_live_sound"
    await make_indicator(platform, broken)
    await make_indicator(platform, sound)
    await overflow_in_database(platform, broken, period)
    port = free_port()

    async with (
        platform.worker(metrics_port=port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as metrics,
    ):
        # A valid figure of Lyon recomputes the broken indicator; Lisbon's the sound one.
        await write(platform, broken, period, {"FRLYS": 3})
        await write(platform, sound, period, {"PTLIS": 42})

        async def aggregated() -> dict[str, Any] | None:
            return await network_total(platform, sound, period)

        total = await eventually(aggregated)
        assert total is not None and total["value"] == 42 and total["computed_at"], total

        async def failed_runs() -> list[dict[str, Any]]:
            response = await platform.profiles.request(
                "GET",
                "/v1/aggregation-runs",
                role=Role.admin,
                params={"indicator": broken, "failed": "true"},
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        [latest, *_] = await eventually(failed_runs)
        assert latest["indicator"] == broken, latest
        assert "out of range" in latest["error"], latest

        async def counted() -> float:
            scraped = (await metrics.get("/metrics")).text
            return sample(scraped, FAILURES, indicator=broken) or 0.0

        assert await eventually(counted) >= 1
        assert await network_total(platform, broken, period) is None
