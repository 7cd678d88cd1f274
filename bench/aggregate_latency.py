"""Aggregation latency: from a single-observation write through the profiles API to the new
network aggregate being readable, with the written indicator holding 1,000,000 values.

Loads ``--values`` values (default 1,000,000; 0 for none) of the bench's indicator shaped as
P2's import (60 cities in four regions, a total and 99 breakdowns per city and year, so 6,000
values per period over 167 years up to the written one), then starts the profiles API
(uvicorn) and the worker (``mc2cm worker``) as processes of their own against one database,
makes single-observation writes one after another, and after each polls ``GET /v1/aggregates``
until the new network total shows. Prints the median and maximum delay, and the debounce
they include (the worker waits that long after the last write).

    .venv/bin/python -m bench.aggregate_latency --writes 20 [--values 1000000]

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

import asyncpg
import httpx

from services.cli.runtime import migrate_all
from shared.auth import Role, issue_token
from shared.embedded import start_embedded_stack
from shared.settings import Settings, to_libpq_url
from tests.conftest import create_database, drop_database

SECRET = "bench-secret-" + "x" * 40
CITY = "ZZLAT"
INDICATOR = "bench_latency_places"
PERIOD = "2031"
#: The loaded values: cities and breakdowns per city and period (the first is the total).
LOADED_CITIES = 60
BREAKDOWNS = 100
REGIONS = ("europe", "south_mediterranean", "middle_east", "sub_saharan_africa")
LOAD_SQL = f"""
INSERT INTO profiles.observation (
    city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
    dimensions, value, obs_status, source_id, reliability_rank
)
SELECT c.code, '{INDICATOR}', y::text, make_date(y, 1, 1), make_date(y, 12, 31),
       'municipality', CASE WHEN b = 0 THEN '' ELSE 'group=g' || lpad(b::text, 2, '0') END,
       CASE WHEN b = 0 THEN '{{}}' ELSE jsonb_build_object('group', 'g' || lpad(b::text, 2, '0'))
       END,
       ((y * 7919 + c.position * 104729 + b * 1299709) % 50000)::float8, 'A', s.id,
       s.reliability_rank
FROM generate_series($1::int, {PERIOD}) AS y
CROSS JOIN (SELECT code, row_number() OVER (ORDER BY code) AS position
            FROM profiles.city WHERE code LIKE 'ZY%') AS c
JOIN profiles.source s ON s.title = 'Latency bench register ' || c.code
CROSS JOIN generate_series(0, {BREAKDOWNS - 1}) AS b
ORDER BY y, c.code, b
"""
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


def city_codes() -> list[str]:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return [f"ZY{a}{b}" for a in letters for b in letters][:LOADED_CITIES]


async def load_values(database_url: str, values: int) -> float:
    """About ``values`` values of the bench's indicator (whole periods ending with the written
    one) with their cities and sources, unless there already; the network total they give
    the written period without the bench city's value."""
    periods = max(1, round(values / (LOADED_CITIES * BREAKDOWNS)))
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        loaded = await connection.fetchval(
            "SELECT count(*) FROM profiles.observation WHERE indicator_code = $1", INDICATOR
        )
        if values and loaded < values // 2:
            await connection.executemany(
                "INSERT INTO profiles.city (code, names, country, region, timezone, "
                "membership_status) VALUES ($1, $2, 'ZZ', $3, 'UTC', 'confirmed') "
                "ON CONFLICT DO NOTHING",
                [
                    (code, f'{{"en": "Latency bench {code}"}}', REGIONS[n % len(REGIONS)])
                    for n, code in enumerate(city_codes())
                ],
            )
            await connection.executemany(
                "INSERT INTO profiles.source (title, kind, reliability_rank) "
                "VALUES ($1, 'register', $2) ON CONFLICT DO NOTHING",
                [
                    (f"Latency bench register {code}", 1 + n % 3)
                    for n, code in enumerate(city_codes())
                ],
            )
            await connection.execute(LOAD_SQL, int(PERIOD) - periods + 1)
            await connection.execute("VACUUM ANALYZE profiles.observation")
        total = await connection.fetchval(
            "SELECT coalesce(sum(value), 0) FROM profiles.observation WHERE indicator_code = $1 "
            "AND period = $2 AND disaggregation = '' AND city_code <> $3",
            INDICATOR,
            PERIOD,
            CITY,
        )
        return float(total)
    finally:
        await connection.close()


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


def visible_after(client: httpx.Client, value: int, others: float = 0.0) -> float:
    """Write ``value`` and wait until the network total (``others`` plus it) shows it; the
    seconds that took."""
    started = time.perf_counter()
    write(client, value)
    while network_total(client) != others + value:
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


def run(base_url: str, writes: int, database_url: str, values: int) -> list[float]:
    token = issue_token(Settings(jwt_secret=SECRET), subject="bench", role=Role.admin)
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        prepare(client)
        others = asyncio.run(load_values(database_url, values))
        # Warm-up: the worker's start-up refresh, connections.
        visible_after(client, 1, others)
        base = int(time.time())  # values never seen before, whatever the database holds
        return [visible_after(client, base + n, others) for n in range(writes)]


def measure(
    database_url: str,
    redis_url: str,
    *,
    writes: int,
    values: int,
    debounce: float | None,
    logs: Path,
) -> list[float]:
    """The delay of each of ``writes`` writes on a migrated database (``values`` loaded
    first), with the API and the worker started for it; their logs are printed if it fails.
    ``debounce`` None: the setting's default."""
    with processes(database_url, redis_url, debounce, logs) as base_url:
        try:
            return run(base_url, writes, database_url, values)
        except Exception:
            for log in sorted(logs.glob("*.log")):
                sys.stderr.write(f"--- {log.name}\n{log.read_text()[-4000:]}\n")
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument(
        "--values",
        type=int,
        default=1_000_000,
        help="Values of the written indicator loaded first (0: none).",
    )
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
            delays = measure(
                database_url,
                redis_url,
                writes=args.writes,
                values=args.values,
                debounce=args.debounce,
                logs=Path(tmp),
            )
        finally:
            if scratch is not None:
                asyncio.run(drop_database(scratch))
            if stack is not None:
                stack.close()
    median, worst = statistics.median(delays), max(delays)
    print(f"writes: {len(delays)}  debounce: {debounce:.2f} s  values: {args.values:,}")
    print(f"{'':28}{'median':>10}{'max':>10}")
    print(f"{'write → aggregate visible':28}{median:>9.3f}s{worst:>9.3f}s")
    print(f"{'minus the debounce':28}{median - debounce:>9.3f}s{worst - debounce:>9.3f}s")


if __name__ == "__main__":
    main()
