"""P3, aggregates: recomputing the network aggregates after P2's import, against one raw
``GROUP BY`` over the same rows.

Ours is the worker's own service code for one indicator (``recompute_indicator`` of
``foreign_nationals``, the imported indicator: its derived values, then its network and
regional aggregates rebuilt, in one committed transaction). Raw is one ``SELECT`` with the
same grouping sets (network, and each region, per period, scope and breakdown) computing the
same sum, minimum and count of the imported values. Each is timed three times; the median
counts.

``bench.p2_ingest.measure`` measures this on its imported database before dropping it, and
``measure`` here returns that figure; alone (``python -m bench.p3_aggregates``) it runs the
import first.

The second figure is freshness: from a single-observation write through the API to the new
network aggregate being readable, with the written indicator holding 1,000,000 values
(``--quick``: 100,000) and the default settings (debounce included), the median of 20 writes
(``bench.aggregate_latency``, on a database of its own with the API and the worker running).
Its baseline is the target itself: visible within a second.

    .venv/bin/python -m bench.p3_aggregates [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

from bench import aggregate_latency
from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import (
    PREFERENCE_INDEX,
    preferred_published,
    recompute_indicator,
)
from shared.settings import Settings, to_libpq_url
from tests.conftest import create_database, drop_database

INDICATOR = "foreign_nationals"
REPEATS = 3
FRESHNESS_WRITES = 20
FRESHNESS_TARGET_SECONDS = 1.0
RAW_GROUP_BY = """
SELECT o.period, o.scope, o.disaggregation, c.region,
       sum(o.value), min(o.value), count(*)
FROM profiles.observation o JOIN profiles.city c ON c.code = o.city_code
WHERE o.indicator_code = $1 AND o.value IS NOT NULL
GROUP BY GROUPING SETS ((o.period, o.scope, o.disaggregation),
                        (o.period, o.scope, o.disaggregation, c.region))
"""

#: Figures measured during ``bench.p2_ingest.measure``, by ``quick``.
_measured: dict[bool, Figure] = {}


async def _ours(database_url: str) -> tuple[float, int]:
    settings = Settings(database_url=database_url, jwt_secret="bench-" + "x" * 40)
    started = time.perf_counter()
    async with unit_of_work(settings, name="bench-p3") as session:
        definition = (await Catalogue.load(session)).get(INDICATOR)
        assert definition is not None
        result = await recompute_indicator(
            session, definition, timeout_seconds=settings.aggregation_statement_timeout_seconds
        )
    return time.perf_counter() - started, result.aggregate_rows


async def _raw(database_url: str) -> tuple[float, int]:
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        started = time.perf_counter()
        rows = await connection.fetch(RAW_GROUP_BY, INDICATOR)
        return time.perf_counter() - started, len(rows)
    finally:
        await connection.close()


def measure_on(database_url: str, quick: bool) -> Figure:
    """Measure P3 on an imported database, and keep the figure for ``measure``."""

    async def run() -> tuple[list[float], list[float], int, int, int]:
        connection = await asyncpg.connect(to_libpq_url(database_url))
        try:
            await connection.execute("VACUUM ANALYZE profiles.observation")
            observations = await connection.fetchval(
                "SELECT count(*) FROM profiles.observation WHERE indicator_code = $1", INDICATOR
            )
            # How the recomputation reads the preferred values (with its work_mem).
            await connection.execute("SET work_mem = '64MB'")
            preferred = preferred_published("code", None).replace(":code", "$1")
            plan = "\n".join(
                row[0]
                for row in await connection.fetch(f"EXPLAIN (COSTS OFF) {preferred}", INDICATOR)
            )
        finally:
            await connection.close()
        ours, raw = [], []
        groups = written = 0
        for _ in range(REPEATS):
            seconds, written = await _ours(database_url)
            ours.append(seconds)
            seconds, groups = await _raw(database_url)
            raw.append(seconds)
        return ours, raw, written, groups, observations, plan

    ours, raw, written, groups, observations, plan = asyncio.run(run())
    read = (
        f"preferred values read in index order ({PREFERENCE_INDEX}), no sort"
        if PREFERENCE_INDEX in plan and "Sort\n" not in plan + "\n"
        else "preferred values sorted: " + " / ".join(plan.splitlines()[:3])
    )
    figure = Figure(
        key="P3",
        name=f"recompute {INDICATOR} aggregates ({observations:,} observations)",
        ours=statistics.median(ours),
        raw=statistics.median(raw),
        unit="s",
        target=1.5,
        better="lower",
        baseline="one GROUP BY GROUPING SETS (network, region) of sum/min/count",
        notes=[
            f"{written:,} aggregate rows written; raw returns {groups:,} groups",
            read,
            "runs (s): ours "
            + ", ".join(f"{s:.2f}" for s in ours)
            + "; raw "
            + ", ".join(f"{s:.2f}" for s in raw),
        ],
    )
    _measured[quick] = figure
    return figure


def measure_freshness(env: BenchEnv, quick: bool) -> Figure:
    """Write → network aggregate visible, at 1,000,000 values of the written indicator."""
    values = 100_000 if quick else 1_000_000
    debounce = Settings().aggregation_debounce_seconds
    database_url = asyncio.run(create_database(env.server_url, "mc2cm_bench_fresh"))
    try:
        asyncio.run(migrate_all(database_url))
        delays = aggregate_latency.measure(
            database_url,
            env.redis_url,
            writes=FRESHNESS_WRITES,
            values=values,
            debounce=None,
            logs=env.workdir,
        )
    finally:
        asyncio.run(drop_database(database_url))
    return Figure(
        key="P3",
        name=f"write → network aggregate visible ({values:,} values, default settings)",
        ours=statistics.median(delays),
        raw=FRESHNESS_TARGET_SECONDS,
        unit="s",
        target=1.0,
        better="lower",
        baseline="the target: visible within 1 s",
        notes=[
            f"median of {len(delays)} writes, max {max(delays):.2f} s; it includes the "
            f"debounce of {debounce:g} s",
        ],
    )


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    """P3 as measured during P2's run, else after an import of its own; then freshness."""
    if quick in _measured:
        recompute = _measured.pop(quick)
    else:
        from bench import p2_ingest

        rows = p2_ingest.QUICK_ROWS if quick else p2_ingest.FULL_ROWS
        _, figure = p2_ingest.ingest(env, rows, after=lambda url: measure_on(url, quick))
        _measured.pop(quick, None)
        assert isinstance(figure, Figure)
        recompute = figure
    return [recompute, measure_freshness(env, quick)]


def main() -> None:

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with bench_env() as env:
        print_figures(measure(env, args.quick))


if __name__ == "__main__":
    main()
