"""``mc2cm serve`` stopped by SIGTERM, as an orchestrator stops a replica: a request in flight
gets its whole answer, new connections are refused, and the process exits 0.

The API is a real process on the run's database; the request in flight is a CSV import
(dry run: nothing is written) whose body the test sends in two halves, the signal between
them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.auth import Role
from shared.settings import Settings, to_libpq_url
from tests.conftest import TEST_SECRET, token_for
from tests.factories import CSV_HEADER
from tests.worker.receivers import free_port

PROJECT = Path(__file__).resolve().parents[2]
ROWS = [
    f"ATVIE,foreign_nationals,{year},municipality,,{600000 + year},,,A,"
    "Wien in Zahlen (shutdown test),Stadt Wien,,register,"
    for year in range(1990, 2020)
]


async def start_serve(
    settings: Settings, port: int, log: Path, **extra: str
) -> asyncio.subprocess.Process:
    """``mc2cm serve profiles`` in a process of its own, ready to answer."""
    assert settings.database_url is not None and settings.redis_url is not None
    env = os.environ | {
        "MC2CM_ENVIRONMENT": "test",
        "MC2CM_DATABASE_URL": settings.database_url,
        "MC2CM_REDIS_URL": settings.redis_url,
        "MC2CM_JWT_SECRET": TEST_SECRET,
        "MC2CM_RATE_LIMIT_ENABLED": "false",
        "MC2CM_LOG_FORMAT": "json",
        **extra,
    }
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "serve",
            "profiles",
            "--port",
            str(port),
            env=env,
            cwd=PROJECT,
            stdout=output,
            stderr=output,
        )
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while True:
            assert process.returncode is None, log.read_text()
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready within 60 s:\n{log.read_text()}"
            await asyncio.sleep(0.1)


async def refuses_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def until(check: Any, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"not true within {timeout} s: {check}"
        await asyncio.sleep(0.05)


async def stopped(process: asyncio.subprocess.Process, log: Path, timeout: float) -> float:
    """Seconds until ``process`` exits (killed, and the test failed, past ``timeout``)."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(process.wait(), timeout=timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"not stopped within {timeout} s:\n{log.read_text()}") from None
    return time.monotonic() - started


class HalvedBody:
    """A request body sent in two halves; the second only once the test says so."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.first_half_sent = asyncio.Event()
        self.send_the_rest = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        middle = len(self.data) // 2
        yield self.data[:middle]
        self.first_half_sent.set()
        await self.send_the_rest.wait()
        yield self.data[middle:]


async def import_half_sent(
    client: httpx.AsyncClient, settings: Settings, body: HalvedBody
) -> asyncio.Task[httpx.Response]:
    """A dry-run import of ``body`` under way: its first half sent, and the API copying it."""
    in_flight = asyncio.create_task(
        client.post(
            "/v1/imports",
            params={"dry_run": "true"},
            content=body,
            headers={
                "Authorization": f"Bearer {token_for(settings, Role.admin)}",
                "Content-Type": "text/csv",
            },
        )
    )
    await asyncio.wait_for(body.first_half_sent.wait(), timeout=10)
    assert settings.database_url is not None
    database_url = settings.database_url
    await until(lambda: import_copying(database_url), timeout=10)
    return in_flight


async def import_copying(database_url: str) -> bool:
    """Whether the profiles API's COPY of an import into its staging table is under way in
    the test's database: the request reached the API, which is reading its body."""
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        return bool(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'profiles' AND state = 'active' AND query LIKE 'COPY %'"
            )
        )
    finally:
        await connection.close()


async def test_sigterm_lets_a_request_in_flight_finish_and_refuses_new_connections(
    settings: Settings, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    process = await start_serve(settings, port, log)
    body = HalvedBody(("\n".join((CSV_HEADER, *ROWS)) + "\n").encode())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            in_flight = await import_half_sent(client, settings, body)
            process.send_signal(signal.SIGTERM)
            await until(lambda: refuses_connections(port), timeout=5)
            assert process.returncode is None, "stopped with a request in flight"
            body.send_the_rest.set()
            response = await in_flight
        elapsed = await stopped(process, log, timeout=25)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["status"], report["rows"], report["inserted"]) == ("validated", 30, 30), report
    assert process.returncode == 0, log.read_text()
    assert elapsed < 10, elapsed
    assert await refuses_connections(port)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    messages = [line["message"] for line in lines if line["logger"] == "uvicorn.error"]
    assert "Shutting down" in messages, messages


async def test_a_request_outliving_the_grace_period_is_cut_and_serve_exits_0(
    settings: Settings, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    process = await start_serve(settings, port, log, MC2CM_SHUTDOWN_GRACE_SECONDS="1")
    body = HalvedBody(("\n".join((CSV_HEADER, *ROWS)) + "\n").encode())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            in_flight = await import_half_sent(client, settings, body)
            process.send_signal(signal.SIGTERM)
            elapsed = await stopped(process, log, timeout=15)
            body.send_the_rest.set()
            with pytest.raises(httpx.TransportError):
                await in_flight
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, log.read_text()
    assert 1 <= elapsed < 6, elapsed
