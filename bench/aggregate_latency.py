"""Aggregation latency: from a single-observation write through the profiles API to the new
network aggregate being readable.

Starts the profiles API (uvicorn) and the worker (``mc2cm worker``) as processes of their own
against one database, makes single-observation writes one after another, and after each
polls ``GET /v1/aggregates`` until the new network total shows. Prints the median and maximum
delay, and the debounce they include (the worker waits that long after the last write).

    .venv/bin/python -m bench.aggregate_latency --writes 20

Database: ``MC2CM_DATABASE_URL`` if set (migrated; the bench adds a city ``ZZLAT`` and an
indicator ``bench_latency_places`` of its own and leaves them), else a scratch database on
``BENCH_DATABASE_URL``, ``TEST_DATABASE_URL`` or the embedded PostgreSQL, dropped afterwards.
Redis: ``MC2CM_REDIS_URL``, else ``TEST_REDIS_URL``, else the embedded Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.cli.runtime import migrate_all
from shared.auth import Role, issue_token
from shared.embedded import start_embedded_stack
from shared.settings import Settings
from tests.conftest import create_database, drop_database

SECRET = "bench-secret-" + "x" * 40
CITY = "ZZLAT"
INDICATOR = "bench_latency_places"
PERIOD = "2031"
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def processes(
    database_url: str, redis_url: str, debounce: float | None, logs: Path
) -> Iterator[str]:
    """The profiles API and the worker running; the API's base URL."""
    port = free_port()
    env = os.environ | {
        "MC2CM_DATABASE_URL": database_url,
        "MC2CM_REDIS_URL": redis_url,
        "MC2CM_JWT_SECRET": SECRET,
        # A queue of its own: no other worker takes these jobs.
        "MC2CM_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        # No operations endpoints: the default port may be another process's.
        "MC2CM_METRICS_PORT": "0",
    }
    if debounce is not None:
        env["MC2CM_AGGREGATION_DEBOUNCE_SECONDS"] = str(debounce)
    commands = {
        "api": [sys.executable, "-m", "services.cli", "serve", "profiles", "--port", str(port)],
        "worker": [sys.executable, "-m", "services.cli", "worker"],
    }
    started = []
    try:
        for name, command in commands.items():
            log = (logs / f"{name}.log").open("w")
            started.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{base_url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base_url
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=30)


def network_total(client: httpx.Client) -> float | None:
    response = client.get(
        "/v1/aggregates",
        params={
            "indicator": INDICATOR,
            "period": PERIOD,
            "group": "network",
            "disaggregation": "",
        },
    )
    response.raise_for_status()
    items = response.json()["items"]
    return float(items[0]["value"]) if items else None


def write(client: httpx.Client, value: int) -> None:
    response = client.post(
        "/v1/observations",
        json={
            "observations": [
                {
                    "city": CITY,
                    "indicator": INDICATOR,
                    "period": PERIOD,
                    "value": value,
                    "source": {"title": "Aggregation latency bench", "kind": "register"},
                }
            ]
        },
    )
    response.raise_for_status()


def visible_after(client: httpx.Client, value: int) -> float:
    """Write ``value`` and wait until the network total shows it; the seconds that took."""
    started = time.perf_counter()
    write(client, value)
    while network_total(client) != value:
        if time.perf_counter() - started > TIMEOUT_SECONDS:
            raise TimeoutError(f"the aggregate did not show {value} within {TIMEOUT_SECONDS} s")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def prepare(client: httpx.Client) -> None:
    """The bench's city and indicator (kept if they exist)."""
    city = client.post(
        "/v1/cities",
        json={
            "code": CITY,
            "names": {"en": "Latency bench city"},
            "country": "ZZ",
            "region": "other",
            "timezone": "UTC",
            "membership": {"status": "expected"},
        },
    )
    indicator = client.post(
        "/v1/indicators",
        json={
            "code": INDICATOR,
            "names": {"en": "Places (aggregation latency bench)"},
            "theme": "housing",
            "unit": "count",
            "value_type": "integer",
            "aggregation": "sum",
        },
    )
    for response in (city, indicator):
        if response.status_code not in {201, 409}:
            response.raise_for_status()


def run(base_url: str, writes: int) -> list[float]:
    token = issue_token(Settings(jwt_secret=SECRET), subject="bench", role=Role.admin)
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        prepare(client)
        visible_after(client, 1)  # warm-up: the worker's start-up refresh, connections
        base = int(time.time())  # values never seen before, whatever the database holds
        return [visible_after(client, base + n) for n in range(writes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument(
        "--debounce",
        type=float,
        default=None,
        help="MC2CM_AGGREGATION_DEBOUNCE_SECONDS for the worker (default: the setting's).",
    )
    args = parser.parse_args()
    debounce = (
        args.debounce if args.debounce is not None else Settings().aggregation_debounce_seconds
    )
    given_database = os.environ.get("MC2CM_DATABASE_URL")
    server_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("MC2CM_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    stack = None
    scratch: str | None = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if (given_database is None and server_url is None) or redis_url is None:
                stack = start_embedded_stack(
                    Path(tmp) / "stack",
                    postgres=given_database is None and server_url is None,
                    redis=redis_url is None,
                )
                server_url = server_url or stack.database_url
                redis_url = redis_url or stack.redis_url
            assert redis_url is not None
            if given_database is None:
                assert server_url is not None
                scratch = asyncio.run(create_database(server_url, "mc2cm_bench_latency"))
            database_url = given_database or scratch
            assert database_url is not None
            asyncio.run(migrate_all(database_url))
            with processes(database_url, redis_url, args.debounce, Path(tmp)) as base_url:
                try:
                    delays = run(base_url, args.writes)
                except Exception:
                    for log in sorted(Path(tmp).glob("*.log")):
                        sys.stderr.write(f"--- {log.name}\n{log.read_text()[-4000:]}\n")
                    raise
        finally:
            if scratch is not None:
                asyncio.run(drop_database(scratch))
            if stack is not None:
                stack.close()
    median, worst = statistics.median(delays), max(delays)
    print(f"writes: {len(delays)}  debounce: {debounce:.2f} s")
    print(f"{'':28}{'median':>10}{'max':>10}")
    print(f"{'write → aggregate visible':28}{median:>9.3f}s{worst:>9.3f}s")
    print(f"{'minus the debounce':28}{median - debounce:>9.3f}s{worst - debounce:>9.3f}s")


if __name__ == "__main__":
    main()
