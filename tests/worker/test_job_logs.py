"""The request id of a write follows it through the outbox into the worker's jobs, so an
operator finds every log line a request caused, in the API and in the worker, by one id."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from services.profiles_api.db import outbox as profiles_outbox
from services.worker.app import cron_jobs, open_worker
from shared.auth import Role
from shared.observability import configure_logging
from tests.factories import observation
from tests.waiting import eventually
from tests.worker.conftest import Platform


@contextmanager
def json_logs() -> Iterator[io.StringIO]:
    """The platform's JSON logging onto a stream for the block (every logger, INFO and up)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("INFO", stream, log_format="json")
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line of the stream, each of which must be one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_write_and_the_jobs_it_causes_log_with_its_request_id(platform: Platform) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    with json_logs() as stream:
        written = await platform.profiles.post(
            "/v1/observations",
            role=Role.admin,
            headers={"X-Request-ID": request_id},
            json={"observations": [observation(period="2012", value=123457)]},
        )
        assert written.status_code == 200, written.text
        async with platform.worker():

            async def recomputed() -> bool:
                return any(
                    line.get("job") == "recompute_aggregates"
                    and line["request_id"] == request_id
                    and "←" in line["message"]
                    for line in parsed(stream)
                )

            await eventually(recomputed, timeout=20)

    lines = parsed(stream)
    async with open_worker(platform.settings) as worker, worker.database.sessionmaker() as session:
        event_id, envelope = (
            await session.execute(
                select(profiles_outbox.c.id, profiles_outbox.c.envelope).where(
                    profiles_outbox.c.envelope["request_id"].astext == request_id
                )
            )
        ).one()
    # The event records the request that wrote it (webhook receivers see it too).
    assert envelope["request_id"] == request_id, envelope
    assert envelope["type"] == "observations.changed", envelope

    # Every line of the event's job (arq's start and end lines included) carries the id…
    event_job = f"outbox:profiles:{event_id}"
    of_event_job = [line for line in lines if line.get("job_id") == event_job]
    assert len(of_event_job) >= 2, lines
    assert {line["request_id"] for line in of_event_job} == {request_id}, of_event_job
    assert {line["job"] for line in of_event_job} == {"handle_event"}, of_event_job
    # …and so does every line of the recomputation that job enqueued in turn.
    recomputations = {
        line["job_id"]
        for line in lines
        if line.get("job") == "recompute_aggregates" and line["request_id"] == request_id
    }
    assert recomputations, lines
    of_recomputations = [line for line in lines if line.get("job_id") in recomputations]
    assert {line["request_id"] for line in of_recomputations} == {request_id}, of_recomputations

    # Jobs no request caused (cron jobs) carry an id of their own.
    cron_names = {job.name for job in cron_jobs()}
    of_cron_jobs = [line for line in lines if line.get("job") in cron_names]
    assert of_cron_jobs, lines
    assert all(line["request_id"] == f"job:{line['job_id']}" for line in of_cron_jobs), of_cron_jobs
