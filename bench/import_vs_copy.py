"""Ingest benchmark: a CSV import through the profiles API against ``psql \\copy``.

Generates a deterministic file in the tidy import format, then in the same run and on the
same PostgreSQL server: streams it to ``POST /v1/imports`` on a uvicorn process, and loads
it with ``psql \\copy`` into a plain table of the same columns. Prints rows/s of both, their
ratio, and the API process's peak RSS.

    .venv/bin/python -m bench.import_vs_copy --rows 100000

Uses BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx

from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.demo.seed import seed
from shared.auth import Role, issue_token
from shared.embedded import start_embedded_stack
from shared.settings import Settings, to_libpq_url
from tests.conftest import create_database, drop_database
from tests.factories import CSV_HEADER

SECRET = "bench-secret-" + "x" * 40
CITY_COUNT = 60
SEXES = ("F", "M")
AGE_GROUPS = ("0-14", "15-24", "25-44", "45-64", "65+")
CITIZENSHIPS = ("MA", "RO", "CN", "EC", "SY", "TN", "DZ", "SN", "UA", "_OTHER")


def city_codes(count: int) -> list[str]:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return [f"ZZ{a}{b}{c}" for a, b, c in itertools.product(letters, repeat=3)][:count]


def generate_rows(count: int) -> Iterator[list[str]]:
    """Deterministic observations of foreign_nationals broken down by sex, age and nationality."""
    breakdowns = [
        f"age_group={age};citizenship={nat};sex={sex}"
        for sex, age, nat in itertools.product(SEXES, AGE_GROUPS, CITIZENSHIPS)
    ]
    produced = 0
    for year in itertools.count(1950):
        for city_index, city in enumerate(city_codes(CITY_COUNT)):
            for position, breakdown in enumerate(breakdowns):
                if produced >= count:
                    return
                value = (year * 7919 + city_index * 104729 + position * 1299709) % 50000
                yield [
                    city,
                    "foreign_nationals",
                    str(year),
                    "municipality",
                    breakdown,
                    str(value),
                    "",
                    "",
                    "A",
                    f"Population register {city}",
                    "Statistics office",
                    f"https://stats.example.org/{city}",
                    "register",
                    "",
                ]
                produced += 1


def write_file(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER.split(","))
        writer.writerows(generate_rows(rows))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql")


async def prepare(database_url: str, redis_url: str) -> Settings:
    settings = Settings(database_url=database_url, redis_url=redis_url, jwt_secret=SECRET)
    await migrate_all(database_url)
    async with unit_of_work(settings, name="bench") as session:
        await seed(session)
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await connection.executemany(
            "INSERT INTO profiles.city (code, names, country, region, timezone, "
            "membership_status) VALUES ($1, $2, 'ZZ', 'other', 'UTC', 'confirmed')",
            [(code, f'{{"en": "Bench city {code}"}}') for code in city_codes(CITY_COUNT)],
        )
        await connection.execute(
            """CREATE TABLE bench_copy (
                city varchar(5), indicator varchar(64), period varchar(10), scope varchar(64),
                dimension varchar(255), value double precision, value_low double precision,
                value_high double precision, obs_status varchar(1), source_title text,
                source_publisher text, source_url text, source_kind varchar(32), note text)"""
        )
    finally:
        await connection.close()
    return settings


def run_api_import(settings: Settings, file: Path) -> tuple[float, float, dict[str, object]]:
    port = free_port()
    env = os.environ | {
        "MC2CM_DATABASE_URL": settings.database_url or "",
        "MC2CM_REDIS_URL": settings.redis_url or "",
        "MC2CM_JWT_SECRET": SECRET,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "profiles", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = issue_token(settings, subject="bench", role=Role.admin)

        def chunks() -> Iterator[bytes]:
            with file.open("rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk

        started = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{port}/v1/imports",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
            timeout=3600,
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, peak_rss_mb(server.pid), response.json()
    finally:
        server.terminate()
        server.wait()


def run_psql_copy(database_url: str, file: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            psql_binary(),
            to_libpq_url(database_url),
            "-q",
            "-c",
            f"\\copy bench_copy FROM '{file}' WITH (FORMAT csv, HEADER true)",
        ],
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    server_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    stack = None
    with tempfile.TemporaryDirectory() as tmp:
        if server_url is None:
            stack = start_embedded_stack(Path(tmp) / "stack", redis=False)
            server_url = stack.database_url
        assert server_url is not None
        file = Path(tmp) / "figures.csv"
        write_file(file, args.rows)
        size_mb = file.stat().st_size / 1e6
        database_url = asyncio.run(create_database(server_url, "mc2cm_bench"))
        try:
            settings = asyncio.run(prepare(database_url, "redis://127.0.0.1:1/0"))
            api_seconds, rss, result = run_api_import(settings, file)
            copy_seconds = run_psql_copy(database_url, file)
        finally:
            asyncio.run(drop_database(database_url))
            if stack is not None:
                stack.close()
    api_rate, copy_rate = args.rows / api_seconds, args.rows / copy_seconds
    print(f"rows: {args.rows:,}  (file {size_mb:.1f} MB)  result: {result}")
    print(f"{'':24}{'seconds':>10}{'rows/s':>12}")
    print(f"{'POST /v1/imports':24}{api_seconds:>10.2f}{api_rate:>12,.0f}")
    raw_label = "psql \\copy (raw)"
    print(f"{raw_label:24}{copy_seconds:>10.2f}{copy_rate:>12,.0f}")
    print(f"ratio ours/raw: {api_rate / copy_rate:.2f}   API peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
