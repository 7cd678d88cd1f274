"""P2, ingest: a CSV import through the profiles API against ``psql \\copy`` of the same file.

Generates a deterministic file in the tidy import format (1,000,000 rows; ``--quick``
100,000), then in the same run and on the same PostgreSQL server: streams it to
``POST /v1/imports`` on one uvicorn process of the profiles API served as in production
(``mc2cm serve profiles``), and loads it with ``psql \\copy`` into a plain table of the same
columns. The figure is rows/s of both; its notes give the API process's peak RSS (VmHWM).

While the imported database exists, P3 (``bench.p3_aggregates``) is measured on it: the
harness calls ``p2_ingest.measure`` then ``p3_aggregates.measure``, which returns that
figure rather than importing the file a second time.

    .venv/bin/python -m bench.p2_ingest [--quick] [--rows N]
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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.demo.seed import seed
from shared.auth import Role, issue_token
from shared.settings import Settings, to_libpq_url
from tests.factories import CSV_HEADER

FULL_ROWS = 1_000_000
QUICK_ROWS = 100_000
SECRET = "bench-secret-" + "x" * 40
CITY_COUNT = 60
SEXES = ("F", "M")
AGE_GROUPS = ("0-14", "15-24", "25-44", "45-64", "65+")
CITIZENSHIPS = ("MA", "RO", "CN", "EC", "SY", "TN", "DZ", "SN", "UA", "_OTHER")
REGIONS = ("europe", "south_mediterranean", "middle_east", "sub_saharan_africa")


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
    """Migrate and seed the database, add the bench's cities and the raw baseline's table."""
    settings = Settings(database_url=database_url, redis_url=redis_url, jwt_secret=SECRET)
    await migrate_all(database_url)
    async with unit_of_work(settings, name="bench") as session:
        await seed(session)
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await connection.executemany(
            "INSERT INTO profiles.city (code, names, country, region, timezone, "
            "membership_status) VALUES ($1, $2, 'ZZ', $3, 'UTC', 'confirmed')",
            [
                (code, f'{{"en": "Bench city {code}"}}', REGIONS[index % len(REGIONS)])
                for index, code in enumerate(city_codes(CITY_COUNT))
            ],
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


@dataclass(frozen=True)
class ApiProcess:
    """A profiles API served in a process of its own: its address, pid and an admin token."""

    url: str
    pid: int
    token: str


@contextmanager
def profiles_api(settings: Settings, log_path: Path) -> Iterator[ApiProcess]:
    """``mc2cm serve profiles`` on ``settings``' database and Redis, in a process of its own
    (so its peak RSS is its own), once it answers ``/healthz``; stopped at the end."""
    port = free_port()
    env = os.environ | {
        "MC2CM_DATABASE_URL": settings.database_url or "",
        "MC2CM_REDIS_URL": settings.redis_url or "",
        "MC2CM_JWT_SECRET": SECRET,
    }
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "profiles", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield ApiProcess(url, server.pid, issue_token(settings, subject="bench", role=Role.admin))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_api_import(settings: Settings, file: Path, logs: Path) -> tuple[float, float, object]:
    """Seconds to import ``file`` through one API process, its peak RSS (MB), the response."""
    with profiles_api(settings, logs / "p2-api.log") as api:

        def chunks() -> Iterator[bytes]:
            with file.open("rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk

        started = time.perf_counter()
        response = httpx.post(
            f"{api.url}/v1/imports",
            content=chunks(),
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": "text/csv"},
            timeout=3600,
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"import failed: {response.status_code} {response.text[:2000]}")
        return elapsed, peak_rss_mb(api.pid), response.json()


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


@dataclass(frozen=True)
class Ingest:
    """What one ingest run measured."""

    rows: int
    file_mb: float
    api_seconds: float
    copy_seconds: float
    peak_rss_mb: float
    result: object

    def figure(self) -> Figure:
        return Figure(
            key="P2",
            name=f"POST /v1/imports, {self.rows:,}-row CSV",
            ours=self.rows / self.api_seconds,
            raw=self.rows / self.copy_seconds,
            unit="rows/s",
            target=0.5,
            baseline="psql \\copy into a plain table",
            notes=[
                f"API {self.api_seconds:.1f} s, psql {self.copy_seconds:.1f} s, "
                f"file {self.file_mb:.0f} MB",
                f"API peak RSS {self.peak_rss_mb:.0f} MB (target < 300 MB)",
            ],
        )


def ingest(
    env: BenchEnv, rows: int, after: Callable[[str], object] | None = None
) -> tuple[Ingest, object]:
    """Import ``rows`` generated rows through the API and by psql into a fresh database;
    ``after(database_url)`` runs on the imported database before it is dropped."""
    file = env.workdir / f"p2-{rows}.csv"
    if not file.exists():
        write_file(file, rows)

    async def run() -> tuple[Ingest, object]:
        async with env.database("mc2cm_bench_p2") as database_url:
            settings = await prepare(database_url, env.redis_url)
            api_seconds, rss, result = await asyncio.to_thread(
                run_api_import, settings, file, env.workdir
            )
            copy_seconds = await asyncio.to_thread(run_psql_copy, database_url, file)
            measured = Ingest(
                rows=rows,
                file_mb=file.stat().st_size / 1e6,
                api_seconds=api_seconds,
                copy_seconds=copy_seconds,
                peak_rss_mb=rss,
                result=result,
            )
            extra = await asyncio.to_thread(after, database_url) if after else None
            return measured, extra

    return asyncio.run(run())


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    """P2, and P3 on the imported database (kept for ``bench.p3_aggregates.measure``)."""
    from bench import p3_aggregates

    rows = QUICK_ROWS if quick else FULL_ROWS

    def after(database_url: str) -> None:
        try:
            p3_aggregates.measure_on(database_url, quick)
        except Exception as exc:  # P2 stands without P3, which then runs on its own
            print(f"P3 failed on P2's database: {exc!r}"[:500], file=sys.stderr)

    measured, _ = ingest(env, rows, after=after)
    return [measured.figure()]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--rows", type=int, help="another number of rows")
    args = parser.parse_args()
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    with bench_env() as env:
        measured, _ = ingest(env, rows)
    print(f"response: {measured.result}")
    print_figures([measured.figure()])


if __name__ == "__main__":
    main()
