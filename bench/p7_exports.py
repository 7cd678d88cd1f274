"""P7, exports: the XLSX and SDMX-CSV exports of ``GET /v1/observations`` against its plain
CSV export.

Fills a fresh database with 1,000,000 observations (``--quick`` 50,000; written by SQL,
which is not what is measured: P2 measures the import) of ``foreign_nationals`` broken down
by sex, age group and citizenship for 60 cities, then, in the same run and on the same
server, downloads every row as CSV (``?format=csv``), XLSX (``?format=xlsx``) and SDMX-CSV
(``?format=sdmx-csv``) from one
uvicorn process of the profiles API served as in production, a fresh process per format so
each peak RSS (VmHWM) is its own. The figures are rows/s of each; the notes give the peak
RSS and sizes, and the round trip: every XLSX row read back with openpyxl (read-only, so in
constant memory too) against the CSV row of the same position, value by value (its source's
title, publisher, URL and kind through its ``source_id`` in the ``Sources`` sheet).

    .venv/bin/python -m bench.p7_exports [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from openpyxl import load_workbook

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from bench.p2_ingest import AGE_GROUPS, CITIZENSHIPS, city_codes, peak_rss_mb, profiles_api
from bench.p2_ingest import prepare as prepare_database
from services.profiles_api.sdmx.export import MEDIA_TYPE as SDMX_CSV
from shared.settings import Settings, to_libpq_url
from shared.tabular import unescape_text

FULL_ROWS = 1_000_000
QUICK_ROWS = 50_000
CITY_COUNT = 60
BREAKDOWNS = 2 * len(AGE_GROUPS) * len(CITIZENSHIPS)
TEXT_COLUMNS = ("city", "indicator", "period", "scope", "dimension", "obs_status", "status", "note")
#: The CSV's source columns, which the XLSX holds once in its ``Sources`` sheet (by column).
SOURCE_COLUMNS = {
    "source_title": "title",
    "source_publisher": "publisher",
    "source_url": "url",
    "source_kind": "kind",
}


async def fill(database_url: str, rows: int) -> None:
    """``rows`` observations written straight into the table, with a source per city."""
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        cities = city_codes(CITY_COUNT)
        await connection.executemany(
            "INSERT INTO profiles.source (title, publisher, url, kind, reliability_rank) "
            "VALUES ($1, 'Statistics office', $2, 'register', 2)",
            [(f"Population register {c}", f"https://stats.example.org/{c}") for c in cities],
        )
        ages = "ARRAY[" + ",".join(f"'{age}'" for age in AGE_GROUPS) + "]"
        nationalities = "ARRAY[" + ",".join(f"'{code}'" for code in CITIZENSHIPS) + "]"
        await connection.execute(
            f"""
            WITH n AS (
                SELECT i,
                       (ARRAY['F','M'])[i % 2 + 1] AS sex,
                       ({ages})[(i / 2) % {len(AGE_GROUPS)} + 1] AS age,
                       ({nationalities})[(i / 10) % {len(CITIZENSHIPS)} + 1] AS nat,
                       (ARRAY[{",".join(f"'{c}'" for c in cities)}])
                           [(i / {BREAKDOWNS}) % {CITY_COUNT} + 1] AS city,
                       1900 + i / ({BREAKDOWNS} * {CITY_COUNT}) AS year
                FROM generate_series(0, {rows - 1}) AS i
            )
            INSERT INTO profiles.observation (city_code, indicator_code, period, period_start,
                period_end, scope, disaggregation, dimensions, value, obs_status, source_id)
            SELECT n.city, 'foreign_nationals', n.year::text, make_date(n.year, 1, 1),
                   make_date(n.year, 12, 31), 'municipality',
                   'age_group=' || n.age || ';citizenship=' || n.nat || ';sex=' || n.sex,
                   jsonb_build_object('age_group', n.age, 'citizenship', n.nat, 'sex', n.sex),
                   (n.i::bigint * 7919) % 50000, 'A', s.id
            FROM n JOIN profiles.source s ON s.title = 'Population register ' || n.city
            """
        )
        await connection.execute("ANALYZE profiles.observation")
    finally:
        await connection.close()


@dataclass(frozen=True)
class Download:
    seconds: float
    peak_rss_mb: float
    path: Path
    mb: float


def download(settings: Settings, output_format: str, target: Path, logs: Path) -> Download:
    """Every observation in ``output_format`` from a fresh API process, saved to ``target``."""
    with profiles_api(settings, logs / f"p7-api-{output_format}.log") as api:
        started = time.perf_counter()
        with (
            httpx.stream(
                "GET",
                f"{api.url}/v1/observations",
                # The bench's indicator only: the demo's other figures would sit on other
                # sheets, and the round trip compares the rows in order.
                params={"format": output_format, "indicator": "foreign_nationals"},
                headers={"Authorization": f"Bearer {api.token}"},
                timeout=3600,
            ) as response,
            target.open("wb") as handle,
        ):
            if response.status_code != 200:
                raise RuntimeError(f"{output_format} export: {response.status_code}")
            for chunk in response.iter_bytes(256 * 1024):
                handle.write(chunk)
        elapsed = time.perf_counter() - started
        return Download(elapsed, peak_rss_mb(api.pid), target, target.stat().st_size / 1e6)


def _csv_rows(path: Path) -> Iterator[tuple[object, ...]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield (
                *(unescape_text(row[name]) for name in (*TEXT_COLUMNS, *SOURCE_COLUMNS)),
                float(row["value"]) if row["value"] else None,
            )


def _xlsx_rows(path: Path) -> Iterator[tuple[object, ...]]:
    book = load_workbook(path, read_only=True)
    try:
        listed = book["Sources"].iter_rows(values_only=True)
        source_header = list(next(listed))
        at_source = [source_header.index(name) for name in SOURCE_COLUMNS.values()]
        sources = {
            cells[0]: tuple(
                unescape_text(cells[i]) if isinstance(cells[i], str) else "" for i in at_source
            )
            for cells in listed
        }
        sheet = book["Demography"]
        rows = sheet.iter_rows(values_only=True)
        header = list(next(rows))
        at = [header.index(name) for name in TEXT_COLUMNS]
        value_at = header.index("value (persons)")
        source_at = header.index("source_id")
        for cells in rows:
            texts = (cells[i] if cells[i] is not None else "" for i in at)
            value = cells[value_at]
            yield (
                *(unescape_text(t) if isinstance(t, str) else t for t in texts),
                *sources[cells[source_at]],  # the row's source, joined through its id
                float(value) if value is not None else None,
            )
    finally:
        book.close()


def round_trip(csv_path: Path, xlsx_path: Path) -> tuple[int, int]:
    """Rows compared, rows that differ (a missing or extra row counts as one)."""
    compared = differing = 0
    for csv_row, xlsx_row in itertools.zip_longest(_csv_rows(csv_path), _xlsx_rows(xlsx_path)):
        compared += 1
        differing += csv_row != xlsx_row
    return compared, differing


def sdmx_round_trip(settings: Settings, file: Path, logs: Path) -> dict[str, Any]:
    """The SDMX-CSV export imported back as a dry run (it reports what it would change, and
    writes nothing): the import's result."""
    with profiles_api(settings, logs / "p7-api-sdmx-import.log") as api:

        def chunks() -> Iterator[bytes]:
            with file.open("rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk

        response = httpx.post(
            f"{api.url}/v1/imports",
            params={"dry_run": "true"},
            content=chunks(),
            headers={"Authorization": f"Bearer {api.token}", "Content-Type": SDMX_CSV},
            timeout=3600,
        )
    if response.status_code != 200:
        raise RuntimeError(f"SDMX-CSV import: {response.status_code} {response.text[:2000]}")
    result: dict[str, Any] = response.json()
    return result


@dataclass(frozen=True)
class Exports:
    rows: int
    csv: Download
    xlsx: Download
    sdmx: Download
    compared: int
    differing: int
    sdmx_import: dict[str, Any]

    def figures(self) -> list[Figure]:
        return [self.xlsx_figure(), self.sdmx_figure()]

    def sdmx_figure(self) -> Figure:
        return Figure(
            key="P7b",
            name=f"GET /v1/observations?format=sdmx-csv, {self.rows:,} rows",
            ours=self.rows / self.sdmx.seconds,
            raw=self.rows / self.csv.seconds,
            unit="rows/s",
            target=0.5,
            baseline="?format=csv of the same rows, same run",
            notes=[
                f"SDMX-CSV {self.sdmx.seconds:.1f} s, {self.sdmx.mb:.0f} MB; "
                f"CSV {self.csv.seconds:.1f} s, {self.csv.mb:.0f} MB",
                f"API peak RSS: SDMX-CSV {self.sdmx.peak_rss_mb:.0f} MB (target < 300 MB)",
                "round trip (its import, dry run): {rows:,} rows, {unchanged:,} unchanged, "
                "{inserted:,} inserted, {updated:,} updated, {withdrawn:,} withdrawn".format(
                    **self.sdmx_import
                ),
            ],
        )

    def xlsx_figure(self) -> Figure:
        return Figure(
            key="P7a",
            name=f"GET /v1/observations?format=xlsx, {self.rows:,} rows",
            ours=self.rows / self.xlsx.seconds,
            raw=self.rows / self.csv.seconds,
            unit="rows/s",
            target=0.5,
            baseline="?format=csv of the same rows, same run",
            notes=[
                f"XLSX {self.xlsx.seconds:.1f} s, {self.xlsx.mb:.0f} MB; "
                f"CSV {self.csv.seconds:.1f} s, {self.csv.mb:.0f} MB",
                f"API peak RSS: XLSX {self.xlsx.peak_rss_mb:.0f} MB, "
                f"CSV {self.csv.peak_rss_mb:.0f} MB (target < 300 MB)",
                f"round trip (openpyxl): {self.compared:,} rows (with the demo's "
                f"foreign_nationals) compared with the CSV, {self.differing:,} differ",
            ],
        )


def run(env: BenchEnv, rows: int) -> Exports:
    async def measured() -> Exports:
        async with env.database("mc2cm_bench_p7") as database_url:
            settings = await prepare_database(database_url, env.redis_url)
            await fill(database_url, rows)
            csv_download = await asyncio.to_thread(
                download, settings, "csv", env.workdir / "p7.csv", env.workdir
            )
            xlsx_download = await asyncio.to_thread(
                download, settings, "xlsx", env.workdir / "p7.xlsx", env.workdir
            )
            sdmx_download = await asyncio.to_thread(
                download, settings, "sdmx-csv", env.workdir / "p7.sdmx.csv", env.workdir
            )
            sdmx_import = await asyncio.to_thread(
                sdmx_round_trip, settings, sdmx_download.path, env.workdir
            )
        compared, differing = round_trip(csv_download.path, xlsx_download.path)
        return Exports(
            rows, csv_download, xlsx_download, sdmx_download, compared, differing, sdmx_import
        )

    return asyncio.run(measured())


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    return run(env, QUICK_ROWS if quick else FULL_ROWS).figures()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--rows", type=int, help="another number of rows")
    args = parser.parse_args()
    with bench_env() as env:
        exports = run(env, args.rows or (QUICK_ROWS if args.quick else FULL_ROWS))
    print_figures(exports.figures())


if __name__ == "__main__":
    main()
