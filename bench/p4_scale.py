"""P4 scale: reading one series costs the same with 10,000 or 10,000,000 observations.

The series is what a dashboard draws: every period of one city x indicator,
``GET /v1/observations?city=X&indicator=Y&limit=100`` — 40 yearly totals (1986-2025), one
page. It is read through the profiles API served as in production (``mc2cm serve profiles``,
one uvicorn process), anonymously (so the suppression rule asks the catalogue), one request
after another from this process, for pairs drawn with a fixed seed among those that have data.

Both databases hold the same catalogue (500 cities, 500 indicators — a third of them counts of
persons — and 20 sources); only the number of series with data differs (250 against 250,000;
quick mode: 25,000). The rows are generated in SQL, year after year as imports bring them, so
the 40 rows of a series lie on 40 different pages of the table: the large table is read as a
real one would be, not in the order of the series. Indexes and foreign keys are built after
the load (as the migrations define them), then ``VACUUM ANALYZE``.

    .venv/bin/python -m bench.p4_scale [--quick | --huge [--huge-rows N]]

Figure: median latency at the large size ÷ median at the small size (target ≤ 1.5).

``--huge`` (one-off, not in ``make bench``): 20,000,000 observations (``--huge-rows``: more, in
steps of 20,000) against 10,000, with one city in both catalogues for each 20,000 rows (a
city x indicator pair has one series). Besides the series
figure it reports the load's phases, the disk the observations (every partition, with
indexes) and the database take, and the full aggregate recompute at each size: every
indicator of the catalogue recomputed by the platform's service code, each in its own
transaction as the worker's nightly refresh does, then the coverage matrix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import recompute_coverage, recompute_indicator
from shared.db import Database
from shared.settings import Settings

SEED = 20261201
CITIES = 500
INDICATORS = 500
SOURCES = 20
FIRST_YEAR, LAST_YEAR = 1986, 2025
PERIODS = LAST_YEAR - FIRST_YEAR + 1  # rows of one series
PAIRS = CITIES * INDICATORS
#: Maps series k to a distinct city x indicator pair (coprime with every count of pairs
#: here, 2^a x 5^b: a permutation).
STRIDE = 7919
SMALL = 10_000
LARGE = 10_000_000
LARGE_QUICK = 1_000_000
HUGE = 20_000_000
#: Rows a city of the huge catalogue adds: one series for each indicator.
ROWS_PER_CITY = INDICATORS * PERIODS
#: City codes are C0000 to C9999.
MAX_CITIES = 10_000
SECRET = "bench-p4-secret-" + "x" * 40


def pair(k: int, cities: int = CITIES) -> tuple[str, str]:
    """The city and indicator codes of series ``k`` among ``cities`` cities' (as the SQL
    below computes them)."""
    p = (k * STRIDE) % (cities * INDICATORS)
    return f"C{p // INDICATORS:04d}", f"bench_{p % INDICATORS:03d}"


#: The catalogue, with ``$1`` cities.
CATALOGUE_SQL = f"""
INSERT INTO profiles.city (code, names, country, region, timezone, membership_status)
SELECT 'C' || lpad(c::text, 4, '0'), jsonb_build_object('en', 'Bench city ' || c), 'ZZ',
       'europe', 'UTC', 'confirmed'
FROM generate_series(0, {{cities}} - 1) AS c;
INSERT INTO profiles.indicator (code, names, theme, unit, value_type, aggregation)
SELECT 'bench_' || lpad(i::text, 3, '0'), jsonb_build_object('en', 'Bench indicator ' || i),
       'demography', CASE WHEN i % 3 = 0 THEN 'persons' ELSE 'percent' END, 'decimal', 'mean'
FROM generate_series(0, {INDICATORS - 1}) AS i;
INSERT INTO profiles.source (id, title, kind, reliability_rank) OVERRIDING SYSTEM VALUE
SELECT s, 'Bench source ' || s, 'register', 1 + s % 5 FROM generate_series(1, {SOURCES}) AS s;
SELECT setval(pg_get_serial_sequence('profiles.source', 'id'), {SOURCES});
"""

#: Each row carries its source's reliability rank (``1 + id % 5``), as the writer gives it:
#: left out, a trigger would look it up row by row (profiles 0015).
#: Rows n in [$1, $2) of $3 series. In series order ($4 false) row n is year n % 40 of series
#: n / 40, so the heap and the series indexes are built from rows already in index order; in
#: import order ($4 true) it is series n % $3 of year n / $3, a series spread over 40 pages.
#: Series k is the pair (k * $5) % $6 (the catalogue's pairs): with every pair present, $5 = 1
#: keeps pairs in code order; otherwise $5 = STRIDE, as ``pair`` computes.
ROWS_SQL = f"""
INSERT INTO profiles.observation (
    id, city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
    dimensions, value, obs_status, source_id, reliability_rank, created_at, updated_at
) OVERRIDING SYSTEM VALUE
SELECT n + 1,
       'C' || lpad((p / {INDICATORS})::text, 4, '0'),
       'bench_' || lpad((p % {INDICATORS})::text, 3, '0'),
       y::text, make_date(y, 1, 1), make_date(y, 12, 31), 'municipality', '', '{{}}',
       ((p * 31 + y * 17) % 100000)::float8, 'A', 1 + p % {SOURCES},
       1 + (1 + p % {SOURCES}) % 5,
       '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
FROM (
    SELECT n, ({FIRST_YEAR} + CASE WHEN $4 THEN n / $3 ELSE n % {PERIODS} END)::int AS y,
           (CASE WHEN $4 THEN n % $3 ELSE n / {PERIODS} END * $5::bigint) % $6::bigint AS p
    FROM (SELECT generate_series($1::bigint, $2::bigint - 1) AS n) AS numbers
) AS rows
"""


@dataclass(frozen=True)
class Level:
    rows: int
    load_seconds: float
    phases: dict[str, float]
    latencies_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=20)[-1]


@dataclass(frozen=True)
class SchemaObjects:
    """The observation table's keys, foreign keys and indexes, dropped before the load and
    built again after it, as the migrations define them.

    The table is partitioned (profiles 0014): each is built on each partition first, under
    the migration's names (``ix_observation_series_p03``), then on the table, which takes
    them in. The partitions' builds are independent: two connections share them out.
    """

    drop: list[str]
    partitions: list[list[str]]  # each partition's builds
    table: list[str]  # the table's, once its partitions have theirs


async def _schema_objects(connection: asyncpg.Connection) -> SchemaObjects:
    constraints = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = 'profiles.observation'::regclass AND contype IN ('p', 'u', 'f') "
        "ORDER BY contype = 'f', conname"
    )
    indexes = await connection.fetch(
        "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition "
        "FROM pg_index WHERE indrelid = 'profiles.observation'::regclass AND NOT EXISTS ("
        "SELECT FROM pg_constraint WHERE conindid = indexrelid AND contype IN ('p', 'u'))"
    )
    suffixes = [
        row["relname"].removeprefix("observation")
        for row in await connection.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'profiles.observation'::regclass ORDER BY c.relname"
        )
    ]
    table = "profiles.observation"
    drop = [f"ALTER TABLE {table} DROP CONSTRAINT {c['conname']}" for c in reversed(constraints)]
    drop += [f"DROP INDEX {i['name']}" for i in indexes]
    partitions: list[list[str]] = [[] for _ in suffixes]
    for builds, suffix in zip(partitions, suffixes, strict=True):
        for c in constraints:
            # A partition's foreign keys keep the table's names, as the migration's do.
            name = c["conname"] if c["definition"].startswith("FOREIGN") else c["conname"] + suffix
            builds.append(f"ALTER TABLE {table}{suffix} ADD CONSTRAINT {name} {c['definition']}")
        for i in indexes:
            name = i["name"].split(".")[-1]
            builds.append(
                i["definition"]
                .replace(" ON ONLY ", " ON ", 1)
                .replace(f"INDEX {name} ON {table} ", f"INDEX {name}{suffix} ON {table}{suffix} ")
            )
    whole = [
        f"ALTER TABLE {table} ADD CONSTRAINT {c['conname']} {c['definition']}" for c in constraints
    ]
    whole += [i["definition"].replace(" ON ONLY ", " ON ", 1) for i in indexes]
    return SchemaObjects(drop=drop, partitions=partitions, table=whole)


async def _run_shared_out(url: str, work: list[list[str]], *settings: str) -> None:
    """Each list of statements run in order, the lists shared out between two connections
    (the machine's two cores)."""
    pending = list(work)

    async def worker() -> None:
        connection = await asyncpg.connect(url)
        try:
            for setting in settings:
                await connection.execute(setting)
            while pending:
                for statement in pending.pop(0):
                    await connection.execute(statement)
        finally:
            await connection.close()

    await asyncio.gather(worker(), worker())


async def generate(
    url: str, rows: int, *, scattered: bool = False, cities: int = CITIES
) -> dict[str, float]:
    """``rows`` observations (a multiple of 40) in the migrated database at ``url``, with a
    catalogue of ``cities`` cities, in series order or (``scattered``) in import order; the
    seconds each phase took."""
    series = rows // PERIODS
    pairs = cities * INDICATORS
    assert series <= pairs, f"{rows:,} rows need more than {cities} cities"
    multiplier = 1 if series == pairs and not scattered else STRIDE
    phases: dict[str, float] = {}
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(CATALOGUE_SQL.replace("{cities}", str(cities)))
        objects = await _schema_objects(connection)
        for statement in objects.drop:
            await connection.execute(statement)
        leaves = await connection.fetch(
            "SELECT relid::regclass::text AS name FROM pg_partition_tree('profiles.observation') "
            "WHERE isleaf"
        )
        for leaf in leaves:
            await connection.execute(f"ALTER TABLE {leaf['name']} SET UNLOGGED")
        # Two connections, half of the rows each: the machine's two cores.
        halves = [(0, rows // 2), (rows // 2, rows)]
        loaders = [await asyncpg.connect(url) for _ in halves]
        try:
            await asyncio.gather(
                *(
                    loader.execute(ROWS_SQL, first, last, series, scattered, multiplier, pairs)
                    for loader, (first, last) in zip(loaders, halves, strict=True)
                )
            )
        finally:
            for loader in loaders:
                await loader.close()
        phases["insert"] = time.perf_counter() - started
        started = time.perf_counter()
        # Sorts of millions of keys in memory rather than on disk; one core a connection.
        await _run_shared_out(
            url,
            objects.partitions,
            "SET maintenance_work_mem = '1GB'",
            "SET max_parallel_maintenance_workers = 0",
        )
        await connection.execute("SET maintenance_work_mem = '1GB'")
        for statement in objects.table:
            await connection.execute(statement)
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('profiles.observation', 'id'), $1)", rows
        )
        phases["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        await _run_shared_out(url, [[f"VACUUM {leaf['name']}"] for leaf in leaves])
        await connection.execute("ANALYZE profiles.observation")
        phases["vacuum"] = time.perf_counter() - started
    finally:
        await connection.close()
    return phases


async def disk_used(url: str) -> tuple[int, int]:
    """Bytes of the observations (every partition, with its indexes and TOAST) and of the
    whole database at ``url``."""
    connection = await asyncpg.connect(url)
    try:
        observations = await connection.fetchval(
            "SELECT sum(pg_total_relation_size(relid)) "
            "FROM pg_partition_tree('profiles.observation')"
        )
        database = await connection.fetchval("SELECT pg_database_size(current_database())")
        return int(observations), int(database)
    finally:
        await connection.close()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def profiles_api(database_url: str, redis_url: str, log: Path) -> Iterator[str]:
    """``mc2cm serve profiles`` running on the database; its base URL. Stopped afterwards."""
    port = _free_port()
    env = os.environ | {
        "MC2CM_DATABASE_URL": database_url,
        "MC2CM_REDIS_URL": redis_url,
        "MC2CM_JWT_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "services.cli", "serve", "profiles", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the profiles API did not start: see {log}")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(client: httpx.Client, city: str, indicator: str) -> float:
    """Milliseconds of one series read (checked: the whole series, one page)."""
    started = time.perf_counter()
    response = client.get(
        "/v1/observations", params={"city": city, "indicator": indicator, "limit": 100}
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    items = response.json()["items"]
    if len(items) != PERIODS:
        raise AssertionError(f"{city} x {indicator}: {len(items)} rows, not {PERIODS}")
    return elapsed * 1000


def read_series(
    base_urls: list[str], series: list[int], warmup: int, requests: int, cities: int = CITIES
) -> list[list[float]]:
    """Milliseconds of ``requests`` sequential series reads of each API (after ``warmup``).

    The APIs take turns, request by request, and which goes first alternates: whatever else
    the machine does at a moment slows both alike, and the ratio of medians keeps steady.
    """
    draws = [random.Random(SEED) for _ in base_urls]
    latencies: list[list[float]] = [[] for _ in base_urls]
    clients = [httpx.Client(base_url=url, timeout=30) for url in base_urls]
    try:
        for n in range(warmup + requests):
            order = range(len(clients)) if n % 2 == 0 else reversed(range(len(clients)))
            for i in order:
                elapsed = _read(clients[i], *pair(draws[i].randrange(series[i]), cities))
                if n >= warmup:
                    latencies[i].append(elapsed)
    finally:
        for client in clients:
            client.close()
    return latencies


@dataclass(frozen=True)
class Recompute:
    """A full aggregate recompute: every indicator, then the coverage matrix."""

    indicators: int
    seconds: float
    indicator_seconds: list[float]
    aggregate_rows: int
    coverage_seconds: float


async def full_recompute(url: str) -> Recompute:
    """Every indicator's derived values and aggregates recomputed by the platform's service
    code (``recompute_indicator``), each in its own transaction in the catalogue's order, as
    the worker's nightly refresh does; then the whole coverage matrix."""
    settings = Settings(database_url=url, jwt_secret=SECRET)
    async with unit_of_work(settings, name="bench-p4") as session:
        catalogue = await Catalogue.load(session)
    codes = catalogue.in_order(catalogue.definitions)
    database = Database.from_settings(settings, application_name="mc2cm-bench-p4")
    seconds: list[float] = []
    written = 0
    try:
        started = time.perf_counter()
        for code in codes:
            definition = catalogue.get(code)
            assert definition is not None
            began = time.perf_counter()
            async with database.sessionmaker() as session, session.begin():
                result = await recompute_indicator(
                    session,
                    definition,
                    timeout_seconds=settings.aggregation_statement_timeout_seconds,
                )
            seconds.append(time.perf_counter() - began)
            written += result.aggregate_rows
        began = time.perf_counter()
        async with database.sessionmaker() as session, session.begin():
            await recompute_coverage(session, today=datetime.now(UTC).date())
        coverage = time.perf_counter() - began
        total = time.perf_counter() - started
    finally:
        await database.dispose()
    return Recompute(len(codes), total, seconds, written, coverage)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def measure(
    env: BenchEnv,
    quick: bool,
    *,
    scattered: bool = False,
    huge: bool = False,
    huge_rows: int = HUGE,
) -> list[Figure]:
    """P4 at 10,000 against 10,000,000 observations (quick: 1,000,000); ``huge``: against
    20,000,000, with the load, the disk and the full aggregate recompute at both sizes."""
    warmup, requests = (30, 200) if quick and not huge else (50, 400)
    sizes = [SMALL, huge_rows if huge else LARGE_QUICK if quick else LARGE]
    cities = huge_rows // ROWS_PER_CITY if huge else CITIES
    if huge and (huge_rows % ROWS_PER_CITY or not 1 <= cities < MAX_CITIES):
        raise ValueError(f"huge rows: a multiple of {ROWS_PER_CITY:,}, under {MAX_CITIES:,} cities")
    disks: list[tuple[int, int]] = []
    recomputes: list[Recompute] = []

    async def run() -> list[Level]:
        async with (
            env.database("mc2cm_bench_p4") as small_url,
            env.database("mc2cm_bench_p4") as large_url,
        ):
            urls = [small_url, large_url]
            phases, seconds = [], []
            for url, rows in zip(urls, sizes, strict=True):
                await migrate_all(url)
                started = time.perf_counter()
                phases.append(await generate(url, rows, scattered=scattered, cities=cities))
                seconds.append(time.perf_counter() - started)
                disks.append(await disk_used(url))
            latencies = await asyncio.to_thread(serve_and_read, urls)
            if huge:
                for url in urls:
                    recomputes.append(await full_recompute(url))
            return [
                Level(rows=rows, load_seconds=s, phases=p, latencies_ms=ms)
                for rows, s, p, ms in zip(sizes, seconds, phases, latencies, strict=True)
            ]

    def serve_and_read(urls: list[str]) -> list[list[float]]:
        with (
            profiles_api(urls[0], env.redis_url, env.workdir / "p4-api-small.log") as small,
            profiles_api(urls[1], env.redis_url, env.workdir / "p4-api-large.log") as large,
        ):
            return read_series(
                [small, large], [rows // PERIODS for rows in sizes], warmup, requests, cities
            )

    small, large = asyncio.run(run())
    figures = [
        Figure(
            key="P4",
            name=f"series read, median at {large.rows:,} ÷ at {small.rows:,} observations",
            ours=large.median,
            raw=small.median,
            unit="ms",
            target=1.5,
            better="lower",
            baseline=f"same read at {small.rows:,} observations",
            notes=[
                f"{level.rows:,} rows: median {level.median:.2f} ms, p95 {level.p95:.2f} ms, "
                f"generated in {level.load_seconds:.1f} s ("
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in level.phases.items())
                + f"); observations {_gib(disk[0])}, database {_gib(disk[1])}"
                for level, disk in zip((small, large), disks, strict=True)
            ],
        )
    ]
    if huge:
        at_small, at_large = recomputes
        figures.append(
            Figure(
                key="P4",
                name=f"full aggregate recompute ({at_large.indicators} indicators) at "
                f"{large.rows:,} observations",
                ours=at_large.seconds,
                raw=at_small.seconds,
                unit="s",
                better="lower",
                baseline=f"same recompute at {small.rows:,} observations",
                notes=[
                    f"{level.rows:,} rows: {run.seconds:.1f} s, per indicator median "
                    f"{statistics.median(run.indicator_seconds):.3f} s, max "
                    f"{max(run.indicator_seconds):.3f} s, {run.aggregate_rows:,} aggregate "
                    f"rows; coverage matrix {run.coverage_seconds:.1f} s"
                    for level, run in ((small, at_small), (large, at_large))
                ],
            )
        )
        figures.append(
            Figure(
                key="P4",
                name=f"load of {large.rows:,} observations (generated in SQL, then keys, "
                "indexes, vacuum)",
                ours=large.load_seconds,
                raw=None,
                unit="s",
                better="lower",
                notes=[
                    ", ".join(f"{name} {seconds:.1f} s" for name, seconds in large.phases.items()),
                    f"disk: observations {_gib(disks[1][0])} "
                    f"({disks[1][0] / large.rows:.0f} bytes a row, every partition with its "
                    f"indexes), database {_gib(disks[1][1])}",
                ],
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="1,000,000 rows, fewer requests")
    size.add_argument(
        "--huge",
        action="store_true",
        help=f"one-off: {HUGE:,} rows, with the load, disk and full aggregate recompute",
    )
    parser.add_argument(
        "--huge-rows", type=int, metavar="N", help=f"--huge with N rows (default {HUGE:,})"
    )
    parser.add_argument(
        "--scattered",
        action="store_true",
        help="rows in import order (a series on 40 pages); slower to index",
    )
    args = parser.parse_args()
    with bench_env() as env:
        print_figures(
            measure(
                env,
                args.quick,
                scattered=args.scattered,
                huge=args.huge or args.huge_rows is not None,
                huge_rows=args.huge_rows or HUGE,
            )
        )


if __name__ == "__main__":
    main()
