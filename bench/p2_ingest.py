"""P2, ingest: a CSV import through the profiles API against ``COPY`` of the same rows into a
table kept as correct as ``profiles.observation``.

Generates a deterministic file in the tidy import format (1,000,000 rows; ``--quick``
100,000), then in the same run and on the same PostgreSQL server: streams it to
``POST /v1/imports`` on one uvicorn process of the profiles API served as in production
(``mc2cm serve profiles``); loads the same rows, as observations (dates of the period, the
breakdown's key and dimensions, the source's id), with ``psql \\copy`` into
``bench_observation``, built as ``profiles.observation`` is (partitioned by hash of the city
into as many partitions, with its keys, indexes and foreign keys to city, indicator and
source: ``create_constrained_table``): the figure's baseline, what any correct store pays;
and loads the file itself with ``psql \\copy`` into a plain table of the same columns, with
no key, index or trigger (the bare baseline, reported in the notes). The figure is rows/s;
its notes give the bare COPY's and the API process's peak RSS (VmHWM).

While the imported database exists, P3 (``bench.p3_aggregates``) is measured on it: the
harness calls ``p2_ingest.measure`` then ``p3_aggregates.measure``, which returns that
figure rather than importing the file a second time.

    .venv/bin/python -m bench.p2_ingest [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import itertools
import json
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
from services.profiles_api.observations.fields import Period, dimension_text, parse_dimension_text
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


#: The constrained baseline: ``profiles.observation``'s copy, and the columns COPY fills.
CONSTRAINED_TABLE = "public.bench_observation"
CONSTRAINED_COLUMNS = (
    "city_code",
    "indicator_code",
    "period",
    "period_start",
    "period_end",
    "scope",
    "disaggregation",
    "dimensions",
    "value",
    "value_low",
    "value_high",
    "obs_status",
    "source_id",
    "note",
    "updated_by",
)


async def create_constrained_table(connection: asyncpg.Connection) -> int:
    """``bench_observation``: ``profiles.observation``'s columns, defaults, checks and identity,
    partitioned as it is (the same partition bounds), with its primary and unique keys, its
    foreign keys (to city, indicator and source), its indexes and triggers, read from ``pg_catalog``
    (``LIKE … INCLUDING ALL`` copies neither partitions nor foreign keys). Returns how many
    partitions it has."""
    source = "profiles.observation"
    (partition_key,) = await connection.fetchrow(
        "SELECT pg_get_partkeydef(CAST($1 AS regclass))", source
    )
    partitions = await connection.fetch(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST($1 AS regclass) ORDER BY c.relname",
        source,
    )
    constraints = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = CAST($1 AS regclass) AND contype IN ('p', 'u', 'f') "
        "ORDER BY contype = 'f', conname",
        source,
    )
    indexes = await connection.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS definition "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = CAST($1 AS regclass) AND NOT EXISTS ("
        "SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid "
        "AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u')) ORDER BY 1",
        source,
    )
    triggers = await connection.fetch(
        "SELECT tgname, pg_get_triggerdef(oid) AS definition FROM pg_trigger "
        "WHERE tgrelid = CAST($1 AS regclass) AND NOT tgisinternal ORDER BY tgname",
        source,
    )
    identity = await connection.fetchval(
        "SELECT attidentity FROM pg_attribute "
        "WHERE attrelid = CAST($1 AS regclass) AND attname = 'id'",
        source,
    )
    table = CONSTRAINED_TABLE
    await connection.execute(
        f"CREATE TABLE {table} (LIKE {source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        + (f"PARTITION BY {partition_key}" if partition_key else "")
    )
    for partition in partitions:
        await connection.execute(
            f"CREATE TABLE {table}_{partition['relname'].rsplit('_', 1)[-1]} "
            f"PARTITION OF {table} {partition['bound']}"
        )
    if identity:
        always = "ALWAYS" if identity == "a" else "BY DEFAULT"
        await connection.execute(
            f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED {always} AS IDENTITY"
        )
    for constraint in constraints:
        await connection.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT bench_{constraint['conname']} "
            f"{constraint['definition']}"
        )
    for index in indexes:
        definition = str(index["definition"]).replace(" ON ONLY ", " ON ", 1)
        definition = definition.replace(f" ON {source} ", f" ON {table} ", 1)
        definition = definition.replace(
            f"INDEX {index['relname']} ON", f"INDEX bench_{index['relname']} ON", 1
        )
        await connection.execute(definition)
    for trigger in triggers:  # e.g. profiles 0015's, which fills a rank a row lacks
        definition = str(trigger["definition"]).replace(f" ON {source} ", f" ON {table} ", 1)
        await connection.execute(
            definition.replace(
                f"TRIGGER {trigger['tgname']} ", f"TRIGGER bench_{trigger['tgname']} ", 1
            )
        )
    return len(partitions)


def write_observation_file(
    path: Path, rows: int, sources: dict[str, tuple[int, int]], *, with_rank: bool
) -> None:
    """The rows of ``generate_rows`` as observations (``CONSTRAINED_COLUMNS``, then the
    source's ``reliability_rank`` if ``with_rank``): what the import stores of each, its
    source's id and rank being ``sources[title]``."""
    header = CSV_HEADER.split(",")
    at = {name: position for position, name in enumerate(header)}
    periods: dict[str, Period] = {}
    breakdowns: dict[str, tuple[str, str]] = {}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for cells in generate_rows(rows):
            period_text = cells[at["period"]]
            period = periods.get(period_text) or periods.setdefault(
                period_text, Period.parse(period_text)
            )
            breakdown = breakdowns.get(cells[at["dimension"]])
            if breakdown is None:
                dimensions = parse_dimension_text(cells[at["dimension"]])
                breakdown = (dimension_text(dimensions), json.dumps(dimensions))
                breakdowns[cells[at["dimension"]]] = breakdown
            writer.writerow(
                [
                    cells[at["city"]],
                    cells[at["indicator"]],
                    period.text,
                    period.start.isoformat(),
                    period.end.isoformat(),
                    cells[at["scope"]],
                    *breakdown,
                    cells[at["value"]],
                    cells[at["value_low"]],
                    cells[at["value_high"]],
                    cells[at["obs_status"]],
                    sources[cells[at["source_title"]]][0],
                    cells[at["note"]],
                    "bench",
                    *([sources[cells[at["source_title"]]][1]] if with_rank else []),
                ]
            )


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
    """Seconds of ``psql \\copy`` of the import file into the plain table."""
    return _psql_copy(
        database_url, f"\\copy bench_copy FROM '{file}' WITH (FORMAT csv, HEADER true)"
    )


def run_constrained_copy(database_url: str, file: Path, *, with_rank: bool) -> float:
    """Seconds of ``psql \\copy`` of the observation file into ``bench_observation``."""
    columns = ", ".join(CONSTRAINED_COLUMNS + (("reliability_rank",) if with_rank else ()))
    return _psql_copy(
        database_url, f"\\copy {CONSTRAINED_TABLE} ({columns}) FROM '{file}' WITH (FORMAT csv)"
    )


def _psql_copy(database_url: str, command: str) -> float:
    started = time.perf_counter()
    subprocess.run([psql_binary(), to_libpq_url(database_url), "-q", "-c", command], check=True)
    return time.perf_counter() - started


async def prepare_constrained_copy(database_url: str, file: Path, rows: int) -> tuple[int, bool]:
    """Build ``bench_observation`` and its COPY file, naming the sources the import created
    (so its foreign keys hold); returns how many partitions it has, and whether its rows
    carry their source's ``reliability_rank`` (as observations do from profiles 0015)."""
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        partitions = await create_constrained_table(connection)
        with_rank = bool(
            await connection.fetchval(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = CAST($1 AS regclass) "
                "AND attname = 'reliability_rank' AND NOT attisdropped",
                CONSTRAINED_TABLE,
            )
        )
        sources = {
            row["title"]: (row["id"], row["reliability_rank"])
            for row in await connection.fetch(
                "SELECT id, title, reliability_rank FROM profiles.source"
            )
        }
    finally:
        await connection.close()
    await asyncio.to_thread(
        functools.partial(write_observation_file, file, rows, sources, with_rank=with_rank)
    )
    return partitions, with_rank


@dataclass(frozen=True)
class Ingest:
    """What one ingest run measured."""

    rows: int
    file_mb: float
    api_seconds: float
    copy_seconds: float  # into the plain table
    constrained_seconds: float  # into bench_observation
    partitions: int
    peak_rss_mb: float
    result: object

    def figure(self) -> Figure:
        bare = self.rows / self.copy_seconds
        ours = self.rows / self.api_seconds
        return Figure(
            key="P2",
            name=f"POST /v1/imports, {self.rows:,}-row CSV",
            ours=ours,
            raw=self.rows / self.constrained_seconds,
            unit="rows/s",
            target=0.5,
            baseline=(
                "psql \\copy into a copy of profiles.observation (hash-partitioned by city, "
                f"{self.partitions} partitions; its keys, indexes and foreign keys)"
            ),
            notes=[
                f"API {self.api_seconds:.1f} s, constrained COPY {self.constrained_seconds:.1f} s, "
                f"file {self.file_mb:.0f} MB",
                f"bare psql \\copy into a plain table: {bare:,.0f} rows/s "
                f"({self.copy_seconds:.1f} s), ratio {ours / bare:.2f}",
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
    observation_file = env.workdir / f"p2-{rows}-observations.csv"

    async def run() -> tuple[Ingest, object]:
        async with env.database("mc2cm_bench_p2") as database_url:
            settings = await prepare(database_url, env.redis_url)
            api_seconds, rss, result = await asyncio.to_thread(
                run_api_import, settings, file, env.workdir
            )
            partitions, with_rank = await prepare_constrained_copy(
                database_url, observation_file, rows
            )
            constrained_seconds = await asyncio.to_thread(
                functools.partial(
                    run_constrained_copy, database_url, observation_file, with_rank=with_rank
                )
            )
            copy_seconds = await asyncio.to_thread(run_psql_copy, database_url, file)
            measured = Ingest(
                rows=rows,
                file_mb=file.stat().st_size / 1e6,
                api_seconds=api_seconds,
                copy_seconds=copy_seconds,
                constrained_seconds=constrained_seconds,
                partitions=partitions,
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
