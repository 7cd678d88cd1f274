"""The worker's operations endpoints as Prometheus and an orchestrator use them: the outbox
backlog, its jobs counted by outcome, readiness naming what is down.

Each test serves the endpoints of a real worker in-process on a free port and reads them
over HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.worker import func
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.functions import coalesce, now

from services.dialogue_api.db import outbox as dialogue_outbox
from services.profiles_api.db import outbox as profiles_outbox
from services.worker.app import build_worker, open_worker
from services.worker.context import WorkerContext
from services.worker.operations import serve_operations
from shared.contracts.events import OutboxEvent
from shared.outbox_metrics import pending_statement
from shared.settings import Settings
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.receivers import free_port
from tests.worker.redis_server import RedisServer


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of ``name``'s sample with exactly ``labels`` in a scrape; ``None`` if absent."""
    for family in text_string_to_metric_families(metrics):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


@asynccontextmanager
async def endpoints(
    settings: Settings, draining: asyncio.Event | None = None
) -> AsyncIterator[tuple[WorkerContext, httpx.AsyncClient]]:
    """A worker's context and its operations endpoints on a free port, with a client of them;
    no relay and no job runs unless the test runs them."""
    settings = settings.model_copy(update={"metrics_port": free_port()})
    async with (
        open_worker(settings) as context,
        serve_operations(context, draining or asyncio.Event()),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.metrics_port}") as client,
    ):
        yield context, client


async def write_old_event(context: WorkerContext, *, age: timedelta) -> uuid.UUID:
    """An event no handler reacts to, written ``age`` ago to profiles' outbox and not relayed."""
    event = OutboxEvent(
        type="test.backlog", source="profiles", occurred_at=datetime.now(UTC) - age, data={}
    )
    async with context.database.sessionmaker() as session, session.begin():
        await session.execute(
            insert(profiles_outbox).values(
                id=event.id,
                type=event.type,
                occurred_at=event.occurred_at,
                envelope=event.model_dump(mode="json"),
            )
        )
    return event.id


async def test_outbox_backlog_is_shown_until_the_worker_has_handled_it(
    platform: Platform,
) -> None:
    async with endpoints(platform.settings) as (context, client):
        # Events earlier tests' workers left relayed to their own queues would wait for
        # redelivery (minutes): the backlog starts empty.
        async with context.database.sessionmaker() as session, session.begin():
            for table in (profiles_outbox, dialogue_outbox):
                await session.execute(
                    update(table)
                    .where(table.c.handled_at.is_(None))
                    .values(
                        relayed_at=coalesce(table.c.relayed_at, now()),
                        handled_at=now(),
                    )
                )
        await write_old_event(context, age=timedelta(hours=1))
        waiting = await client.get("/metrics")
        api_waiting = (await platform.profiles.get("/metrics")).text

    assert waiting.status_code == 200, waiting.text
    assert waiting.headers["content-type"].startswith("text/plain"), waiting.headers
    pending = sample(waiting.text, "mc2cm_outbox_pending_events", schema="profiles")
    lag = sample(waiting.text, "mc2cm_outbox_lag_seconds", schema="profiles")
    assert pending is not None and pending >= 1, waiting.text
    assert lag is not None and 3600 <= lag < 3700, waiting.text
    assert sample(waiting.text, "mc2cm_outbox_pending_events", schema="dialogue") is not None
    # Each API shows its own schema's backlog, read by the same code.
    assert sample(api_waiting, "mc2cm_outbox_pending_events", schema="profiles") == pending
    assert (sample(api_waiting, "mc2cm_outbox_lag_seconds", schema="profiles") or 0) >= 3600
    assert sample(api_waiting, "mc2cm_outbox_lag_seconds", schema="dialogue") is None

    async with platform.worker(), endpoints(platform.settings) as (_, client):

        async def caught_up() -> str | None:
            scraped = (await client.get("/metrics")).text
            backlog = [
                sample(scraped, name, schema=schema)
                for name in ("mc2cm_outbox_pending_events", "mc2cm_outbox_lag_seconds")
                for schema in ("profiles", "dialogue")
            ]
            return scraped if backlog == [0, 0, 0, 0] else None

        await eventually(caught_up, timeout=20)

    api_after = (await platform.profiles.get("/metrics")).text
    assert sample(api_after, "mc2cm_outbox_pending_events", schema="profiles") == 0, api_after
    assert sample(api_after, "mc2cm_outbox_lag_seconds", schema="profiles") == 0, api_after


async def succeeds(ctx: dict[str, Any]) -> str:
    return "done"


async def fails(ctx: dict[str, Any]) -> None:
    raise RuntimeError("this job always fails")


async def retries_once(ctx: dict[str, Any]) -> str:
    if ctx["job_try"] == 1:
        raise Retry(defer=0.05)
    return "done on the second try"


async def outlives_its_timeout(ctx: dict[str, Any]) -> None:
    await asyncio.sleep(30)


async def test_jobs_are_counted_by_name_and_outcome_with_their_durations(
    platform: Platform,
) -> None:
    async with endpoints(platform.settings) as (context, client):
        worker = build_worker(
            context,
            functions=[
                func(succeeds, name="test_succeeds"),
                func(fails, name="test_fails"),
                func(retries_once, name="test_retries_once"),
                func(outlives_its_timeout, name="test_times_out", timeout=0.3),
            ],
            cron_jobs=[],
            burst=True,
            poll_delay=0,
        )
        declared = (await client.get("/metrics")).text
        for name, times in [
            ("test_succeeds", 2),
            ("test_fails", 1),
            ("test_retries_once", 1),
            ("test_times_out", 1),
        ]:
            for _ in range(times):
                assert await context.enqueue(name, _job_id=f"{name}:{uuid.uuid4()}")
        await asyncio.wait_for(worker.main(), timeout=30)
        scraped = (await client.get("/metrics")).text

    # Every job the worker runs shows at 0 from the start, so rates have a beginning.
    assert sample(declared, "mc2cm_jobs_total", job="test_fails", outcome="failed") == 0
    assert sample(declared, "mc2cm_jobs_in_progress", job="test_succeeds") == 0

    def runs(job: str, outcome: str) -> float | None:
        return sample(scraped, "mc2cm_jobs_total", job=job, outcome=outcome)

    assert [runs("test_succeeds", outcome) for outcome in ("complete", "failed", "retry")] == [
        2,
        0,
        0,
    ], scraped
    assert [runs("test_fails", outcome) for outcome in ("complete", "failed", "retry")] == [
        0,
        1,
        0,
    ], scraped
    assert [runs("test_retries_once", outcome) for outcome in ("complete", "failed", "retry")] == [
        1,
        0,
        1,
    ], scraped
    assert runs("test_times_out", "failed") == 1, scraped
    assert runs("test_times_out", "retry") == 0, scraped
    assert sample(scraped, "mc2cm_job_duration_seconds_count", job="test_retries_once") == 2
    assert sample(scraped, "mc2cm_job_duration_seconds_count", job="test_succeeds") == 2
    timed_out = sample(scraped, "mc2cm_job_duration_seconds_sum", job="test_times_out")
    assert timed_out is not None and 0.25 <= timed_out < 5, scraped
    for job in ("test_succeeds", "test_fails", "test_retries_once", "test_times_out"):
        assert sample(scraped, "mc2cm_jobs_in_progress", job=job) == 0, scraped


async def test_readyz_is_a_503_problem_naming_redis_when_redis_is_down(
    platform: Platform, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        settings = platform.settings.model_copy(update={"redis_url": server.url})
        async with endpoints(settings) as (_, client):
            ready = await client.get("/readyz")
            server.stop()
            down = await client.get("/readyz")
            alive = await client.get("/healthz")
            scraped = await client.get("/metrics")
    finally:
        server.stop()

    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json", down.headers
    assert down.headers["retry-after"] == "5", down.headers
    problem = down.json()
    assert problem["status"] == 503 and problem["instance"] == "/readyz", problem
    assert problem["checks"]["postgresql"] == "ok", problem
    assert problem["checks"]["redis"].startswith("down"), problem
    assert "redis" in problem["detail"] and "postgresql" not in problem["detail"], problem
    # The process itself is fine (no restart), and still tells its backlog.
    assert alive.status_code == 200, alive.text
    assert scraped.status_code == 200 and "mc2cm_outbox_pending_events" in scraped.text


async def test_readyz_is_a_503_while_the_worker_drains_its_jobs(platform: Platform) -> None:
    draining = asyncio.Event()
    async with endpoints(platform.settings, draining) as (_, client):
        draining.set()
        response = await client.get("/readyz")
        scraped = await client.get("/metrics")

    assert response.status_code == 503, response.text
    assert response.json()["checks"] == {"postgresql": "ok", "redis": "ok", "jobs": "draining"}
    assert "jobs draining" in response.json()["detail"], response.json()
    assert scraped.status_code == 200, scraped.text


async def test_a_port_already_taken_stops_the_worker_at_start(platform: Platform) -> None:
    async with (
        endpoints(platform.settings) as (context, _),
        open_worker(context.settings) as second,
    ):
        with pytest.raises(OSError, match="in use"):
            async with serve_operations(second, asyncio.Event()):
                pass


async def test_the_backlog_is_read_from_the_indexes_of_waiting_rows_only(
    platform: Platform,
) -> None:
    statement = pending_statement(profiles_outbox).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    async with (
        open_worker(platform.settings) as context,
        context.database.engine.connect() as connection,
        connection.begin(),
    ):
        # Whatever the table's size, a plan without a usable index would scan it.
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await connection.execute(text(f"EXPLAIN {statement}"))).scalars().all())

    assert "Seq Scan" not in plan, plan
    assert "ix_outbox_unrelayed" in plan and "ix_outbox_unhandled" in plan, plan
