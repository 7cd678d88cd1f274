"""``mc2cm worker`` stopped by SIGTERM, as an orchestrator stops it: the job it is running
finishes, probes and scrapes are answered until then, and the process exits 0.

The workers are real processes; the job is the delivery of an e-mail to an SMTP server of
the test's that answers slowly (or not at all until the test lets it), the job a worker
stopped in the middle of then run by the next one.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.jobs import Job, JobStatus
from sqlalchemy import select

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.tasks import DELIVER, DELIVER_MANY
from services.worker.app import open_worker
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.processes import start_worker_process
from tests.worker.receivers import SmtpSink, free_port

DELIVERY_JOBS = {DELIVER, DELIVER_MANY}


async def start_worker(
    platform: Platform, sink: SmtpSink, log: Path, metrics_port: int, **extra: str
) -> asyncio.subprocess.Process:
    """The worker with its endpoints on ``metrics_port``, logging JSON lines to ``log``."""
    return await start_worker_process(
        platform,
        sink,
        log,
        MC2CM_JOB_TIMEOUT_SECONDS="60",
        MC2CM_METRICS_HOST="127.0.0.1",
        MC2CM_METRICS_PORT=str(metrics_port),
        MC2CM_LOG_FORMAT="json",
        MC2CM_LOG_LEVEL="INFO",
        **extra,
    )


def log_lines(log: Path) -> list[dict[str, Any]]:
    """The worker's log, every line of which must be a JSON object."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def jobs_in_progress(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mc2cm_jobs_in_progress{")
        and any(f'job="{name}"' in line for name in DELIVERY_JOBS)
    )


async def the_delivery(platform: Platform, address: str) -> Notification:
    async with open_worker(platform.settings) as worker, worker.database.sessionmaker() as s:
        found = await s.scalar(select(Notification).where(Notification.recipient == address))
    assert found is not None, f"no delivery to {address}"
    return found


async def stopped(process: asyncio.subprocess.Process, log: Path, timeout: float) -> None:
    try:
        await asyncio.wait_for(process.wait(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"not stopped within {timeout} s:\n{log.read_text()}") from None


async def test_sigterm_lets_the_running_job_finish_then_the_worker_exits_0(
    platform: Platform, tmp_path: Path
) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    log, port = tmp_path / "worker.log", free_port()
    with SmtpSink(delay=3) as sink:
        await register(platform.dialogue, event["id"], person["id"])
        worker = await start_worker(platform, sink, log, port)
        try:
            await eventually(sink.receiving.is_set, timeout=30)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                busy = (await client.get("/metrics")).text
                worker.send_signal(signal.SIGTERM)
                signalled = time.monotonic()

                async def draining() -> httpx.Response | None:
                    response = await client.get("/readyz")
                    return response if response.status_code == 503 else None

                not_ready = await eventually(draining, timeout=5, interval=0.05)
                alive = await client.get("/healthz")
                assert not sink.messages, "the job finished before the test could look"
            await stopped(worker, log, timeout=20)
            elapsed = time.monotonic() - signalled
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

    assert worker.returncode == 0, log.read_text()
    assert jobs_in_progress(busy) == 1, busy
    # While it drains, the worker is alive but not ready (it takes no new job).
    assert not_ready.json()["checks"]["jobs"] == "draining", not_ready.text
    assert alive.status_code == 200, alive.text
    # The job ran to its end: the server accepted the mail, the delivery is recorded sent.
    assert len(sink.to(person["email"])) == len(sink.messages) == 1, sink.messages
    delivery = await the_delivery(platform, person["email"])
    assert (delivery.status, delivery.attempts) == ("sent", 1), delivery
    assert elapsed < 15, elapsed
    # arq recorded the job complete.
    lines = log_lines(log)
    (job_id,) = {
        line["job_id"]
        for line in lines
        if line.get("job") in DELIVERY_JOBS and "←" in line["message"]
    }
    async with open_worker(platform.settings) as context:
        result = await Job(job_id, context.redis, _queue_name=platform.settings.queue_name).info()
    assert result is not None and getattr(result, "success", False), result
    # And nothing listens any more.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


async def test_a_job_outliving_the_grace_period_is_cancelled_and_left_for_the_next_worker(
    platform: Platform, tmp_path: Path
) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    log, port = tmp_path / "worker.log", free_port()
    with SmtpSink(stall_first=True) as sink:
        await register(platform.dialogue, event["id"], person["id"])
        worker = await start_worker(platform, sink, log, port, MC2CM_SHUTDOWN_GRACE_SECONDS="1")
        try:
            await eventually(sink.stalled.is_set, timeout=30)
            worker.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await stopped(worker, log, timeout=15)
            elapsed = time.monotonic() - signalled
        finally:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()

        assert worker.returncode == 0, log.read_text()
        assert 1 <= elapsed < 8, elapsed
        lines = log_lines(log)
        assert any("cancelled and will run again" in line["message"] for line in lines)
        # Not sent: the delivery waits, due, for the next worker.
        left = await the_delivery(platform, person["email"])
        assert (left.status, left.sent_at) == ("pending", None), left
        assert left.next_attempt_at <= datetime.now(UTC), left.next_attempt_at
        assert not sink.messages
        # arq put the job back in the queue, due now, rather than recording it finished.
        (job_id,) = {
            line["job_id"]
            for line in lines
            if line.get("job") in DELIVERY_JOBS and "will be run again" in line["message"]
        }
        async with open_worker(platform.settings) as context:
            queued = Job(job_id, context.redis, _queue_name=platform.settings.queue_name)
            assert await queued.status() is JobStatus.queued, await queued.status()

        # And the next worker runs it: the mail goes out once, the delivery is recorded sent.
        next_log = tmp_path / "next-worker.log"
        successor = await start_worker(platform, sink, next_log, free_port())
        try:
            await eventually(lambda: sink.to(person["email"]), timeout=30)
            successor.send_signal(signal.SIGTERM)
            await stopped(successor, next_log, timeout=20)
        finally:
            if successor.returncode is None:
                successor.kill()
                await successor.wait()

    assert len(sink.messages) == 1, sink.messages
    delivery = await the_delivery(platform, person["email"])
    assert delivery.status == "sent", delivery
    retried = {
        line["job_id"]
        for line in log_lines(next_log)
        if line.get("job") in DELIVERY_JOBS and "←" in line["message"]
    }
    assert job_id in retried, retried
