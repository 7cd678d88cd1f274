"""P6, reports: an edition's report as HTML and as PDF, against serving its stored JSON.

The demo data, yearly values of every indicator for ``CITY`` (Tunis: its sections are in
Arabic, French and English; 10 years of each of the catalogue's indicators that are not
derived, so that every theme has its charts; ``--quick``: 5 years of 6 indicators), then an
edition of it published by the editions service as an administrator. Two figures:

- **HTML**: ``GET /v1/editions/{id}/report.html?lang=`` (rendered per request: the snapshot
  parsed, the document built, every chart drawn as SVG) served as in production (``mc2cm
  serve profiles``: one uvicorn process), against a raw app (``create_raw_app``: Starlette +
  asyncpg, one uvicorn process with the same pool size) that answers ``GET
  /v1/editions/{id}`` with the stored canonical JSON (``profiles.edition.content``) as is.
  One keep-alive connection each, one request at a time, in alternating rounds: en then ar
  ours, then as many requests raw as give its p50 as steady; the p50 latency counts.
- **PDF**: ``render_edition_pdf`` (what the worker runs once per edition and language) called
  in this process in a session, en and ar alternately, against reading the stored JSON by id
  with asyncpg in this process; the p50 of each counts.

No target: the issue names none, and a report does work (a document, charts, typesetting)
that serving stored bytes does not; the ratio says how much that costs.

    .venv/bin/python -m bench.p6_reports [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from bench.p1_read import POOL_SIZE, SECRET, server
from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.demo.seed import seed
from services.profiles_api.editions.service import publish_edition
from services.profiles_api.reports.service import render_edition_pdf
from shared.auth import Principal, Role
from shared.settings import Settings, to_libpq_url

CITY = "TNTUN"
LANGUAGES = ("en", "ar")
ADMIN = Principal(subject="mc2cm-bench", role=Role.admin)
RAW_SQL = "SELECT content FROM profiles.edition WHERE id = $1"


@dataclass(frozen=True)
class Mode:
    indicators: int | None  # indicators given a series in the edition (None: every one)
    years: int  # yearly values per indicator
    rounds: int  # HTML: each round one request per language ours, then ``raw_per_round``
    raw_per_round: int
    renders: int  # PDFs rendered, languages alternating
    reads: int  # raw in-process reads of the stored JSON


FULL = Mode(indicators=None, years=10, rounds=10, raw_per_round=100, renders=12, reads=2000)
QUICK = Mode(indicators=6, years=5, rounds=2, raw_per_round=100, renders=2, reads=200)


# --- The raw baseline: the stored edition JSON over HTTP --------------------------------


async def raw_edition(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        content: str | None = await connection.fetchval(RAW_SQL, request.path_params["id"])
    if content is None:
        return Response(status_code=404)
    return Response(content, media_type="application/json")


def create_raw_app() -> Starlette:
    """``GET /v1/editions/{id}``: the stored canonical JSON of an edition, nothing else."""
    database_url = to_libpq_url(os.environ["MC2CM_DATABASE_URL"])
    size = int(os.environ.get("MC2CM_DB_POOL_SIZE", str(POOL_SIZE)))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(database_url, min_size=size, max_size=size)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(routes=[Route("/v1/editions/{id}", raw_edition)], lifespan=lifespan)


# --- Data --------------------------------------------------------------------------------


def settings_for(database_url: str, redis_url: str) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url, jwt_secret=SecretStr(SECRET))


#: The last year of the series the bench adds to ``CITY``.
LAST_YEAR = 2025
#: Yearly values of every indicator that is not derived (the first ``$5`` by code; NULL for
#: all), so that each theme of the report has its charts (the demo data holds one figure of
#: Tunis). Deterministic values in each unit's range (suppression hides small counts only).
SERIES_SQL = """
INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, period_end,
    scope, disaggregation, dimensions, value, obs_status, source_id, created_at, updated_at)
SELECT $1, i.code, year::text, make_date(year, 1, 1), make_date(year, 12, 31),
       'municipality', '', '{}',
       CASE i.unit WHEN 'percent' THEN 5 + (length(i.code) * 7 + year * 3) % 40
                   WHEN 'per_mille' THEN 1 + (length(i.code) + year) % 30
                   WHEN 'score' THEN 20 + (length(i.code) * 5 + year) % 60
                   ELSE 1000 + (length(i.code) * 7919 + year * 313) % 90000 END,
       'A', $2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
FROM profiles.indicator AS i, generate_series($3::int, $4::int) AS year
WHERE i.code IN (SELECT code FROM profiles.indicator WHERE formula IS NULL
                 ORDER BY code LIMIT $5)
"""


@dataclass(frozen=True)
class Published:
    """The edition the figures are measured on."""

    id: str
    content_hash: str  # SHA-256 of its stored canonical JSON
    content_bytes: int
    values: int  # its figures (indicator x period x scope x breakdown)

    def describe(self) -> str:
        return f"edition {self.id}: {self.values} values, stored JSON {self.content_bytes:,} B"


async def prepare(settings: Settings, database_url: str, mode: Mode) -> Published:
    """Migrate, seed the demo data, add series to ``CITY`` and publish an edition of it."""
    await migrate_all(database_url)
    async with unit_of_work(settings, name="bench-p6") as session:
        await seed(session)
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        source_id = await connection.fetchval(
            """INSERT INTO profiles.source (title, publisher, url, kind, reliability_rank)
               VALUES ('Bench register', 'Bench office', 'https://example.org/bench',
                       'administrative', 1) RETURNING id"""
        )
        await connection.execute(
            SERIES_SQL, CITY, source_id, LAST_YEAR - mode.years + 1, LAST_YEAR, mode.indicators
        )
    finally:
        await connection.close()
    async with unit_of_work(settings, name="bench-p6") as session:
        edition = await publish_edition(
            session, ADMIN, CITY, suppression_threshold=settings.suppression_threshold
        )
        return Published(
            id=edition.id,
            content_hash=edition.content_hash,
            content_bytes=len(edition.content.encode()),
            values=len(json.loads(edition.content)["figures"]),
        )


# --- HTML over HTTP ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection, requests written by hand (as P1's load generator
    does), so that the client costs both sides the same few microseconds."""

    def __init__(self, url: str) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def get(self, path: str) -> tuple[int, float]:
        """The answer's status and its latency in seconds."""
        started = time.perf_counter()
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head[9:12]), time.perf_counter() - started


async def _latencies(
    ours_url: str, raw_url: str, edition_id: str, mode: Mode
) -> tuple[list[float], list[float], int]:
    """Request latencies (s) of each side, one connection each, one request at a time, in
    alternating rounds (one request per language ours, then ``raw_per_round``); and how
    many answers were not 200."""
    report = [f"/v1/editions/{edition_id}/report.html?lang={lang}" for lang in LANGUAGES]
    stored = f"/v1/editions/{edition_id}"
    ours: list[float] = []
    raw: list[float] = []
    errors = 0
    async with Connection(ours_url) as ours_side, Connection(raw_url) as raw_side:
        for path in report:  # warm-up: templates, fonts, the chart engine
            await ours_side.get(path)
        for _ in range(mode.raw_per_round):
            await raw_side.get(stored)
        for _ in range(mode.rounds):
            for path in report:
                status, latency = await ours_side.get(path)
                ours.append(latency)
                errors += status != 200
            for _ in range(mode.raw_per_round):
                status, latency = await raw_side.get(stored)
                raw.append(latency)
                errors += status != 200
    return ours, raw, errors


def _check_answers(ours: str, raw: str, edition: Published) -> list[int]:
    """Both sides answer 200 with what they should; the HTML sizes (bytes) per language."""
    stored = httpx.get(f"{raw}/v1/editions/{edition.id}", timeout=60)
    stored.raise_for_status()
    if hashlib.sha256(stored.content).hexdigest() != edition.content_hash:
        raise AssertionError("the raw app does not serve the stored edition JSON")
    sizes = []
    for lang in LANGUAGES:
        page = httpx.get(f"{ours}/v1/editions/{edition.id}/report.html?lang={lang}", timeout=60)
        page.raise_for_status()
        if not page.headers["content-type"].startswith("text/html") or edition.id not in page.text:
            raise AssertionError(f"the {lang} report is not the edition's HTML")
        sizes.append(len(page.content))
    return sizes


def html_figure(env: BenchEnv, database_url: str, edition: Published, mode: Mode) -> Figure:
    server_env = {
        "MC2CM_DATABASE_URL": database_url,
        "MC2CM_REDIS_URL": env.redis_url,
        "MC2CM_JWT_SECRET": SECRET,
        "MC2CM_DB_POOL_SIZE": str(POOL_SIZE),
        "MC2CM_LOG_LEVEL": "WARNING",
    }
    ours_command = [sys.executable, "-m", "services.cli", "serve", "profiles", "--workers", "1"]
    raw_command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench.p6_reports:create_raw_app",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        "1",
    ]
    log = env.workdir / "p6_servers.log"
    with (
        server(ours_command, server_env, log) as (_ours_pid, ours_url),
        server(raw_command, server_env, log) as (_raw_pid, raw_url),
    ):
        sizes = _check_answers(ours_url, raw_url, edition)
        ours, raw, errors = asyncio.run(_latencies(ours_url, raw_url, edition.id, mode))
    if not ours or not raw:
        raise RuntimeError("no request answered")
    by_language = {
        lang: 1000 * statistics.median(ours[index :: len(LANGUAGES)])
        for index, lang in enumerate(LANGUAGES)
    }
    ours_ms = sorted(1000 * latency for latency in ours)
    raw_ms = sorted(1000 * latency for latency in raw)
    return Figure(
        key="P6a",
        name=f"GET /v1/editions/{{id}}/report.html, p50 (en and ar, {CITY})",
        ours=statistics.median(ours_ms),
        raw=statistics.median(raw_ms),
        unit="ms",
        better="lower",
        baseline="bare Starlette + asyncpg serving the stored edition JSON",
        notes=[
            "no target set (the issue names none)",
            "p50 by language "
            + ", ".join(f"{lang} {ms:.0f} ms" for lang, ms in by_language.items())
            + f" ({len(ours_ms)} requests ours, {len(raw_ms):,} raw, max {ours_ms[-1]:.0f} ms "
            f"ours, {raw_ms[-1]:.1f} ms raw)",
            f"{edition.describe()}, HTML en {sizes[0]:,} B, ar {sizes[1]:,} B",
            f"one connection each, one request at a time, {mode.rounds} alternating rounds",
            *([f"{errors} non-200 answers"] if errors else []),
        ],
    )


# --- PDF in process ----------------------------------------------------------------------


async def _pdf_times(
    settings: Settings, database_url: str, edition_id: str, mode: Mode
) -> tuple[list[float], list[float], dict[str, int]]:
    """Seconds per PDF rendering and per raw read of the stored JSON; PDF sizes by language."""
    renders: list[float] = []
    sizes: dict[str, int] = {}
    async with unit_of_work(settings, name="bench-p6") as session:
        for lang in LANGUAGES:  # warm-up: fonts, chart engine, templates
            sizes[lang] = len(await render_edition_pdf(session, edition_id, lang, root=""))
        for index in range(mode.renders):
            lang = LANGUAGES[index % len(LANGUAGES)]
            started = time.perf_counter()
            pdf = await render_edition_pdf(session, edition_id, lang, root="")
            renders.append(time.perf_counter() - started)
            if not pdf.startswith(b"%PDF"):
                raise AssertionError(f"the {lang} rendering is not a PDF")
    reads: list[float] = []
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await connection.fetchval(RAW_SQL, edition_id)
        for _ in range(mode.reads):
            started = time.perf_counter()
            content = await connection.fetchval(RAW_SQL, edition_id)
            reads.append(time.perf_counter() - started)
            assert content is not None
    finally:
        await connection.close()
    return renders, reads, sizes


def pdf_figure(settings: Settings, database_url: str, edition: Published, mode: Mode) -> Figure:
    renders, reads, sizes = asyncio.run(_pdf_times(settings, database_url, edition.id, mode))
    by_language = {
        lang: statistics.median(renders[index :: len(LANGUAGES)]) * 1000
        for index, lang in enumerate(LANGUAGES)
    }
    return Figure(
        key="P6b",
        name=f"render_edition_pdf, p50 per PDF (en and ar, {CITY})",
        ours=statistics.median(renders) * 1000,
        raw=statistics.median(reads) * 1000,
        unit="ms",
        better="lower",
        baseline="asyncpg reading the stored edition JSON by id, in process",
        notes=[
            "no target set (the issue names none: the worker renders each PDF once and keeps it)",
            "p50 by language "
            + ", ".join(f"{lang} {ms:.0f} ms" for lang, ms in by_language.items())
            + f" ({len(renders)} renders, {len(reads):,} reads)",
            f"{edition.describe()}, PDF "
            + ", ".join(f"{lang} {size:,} B" for lang, size in sizes.items()),
        ],
    )


# --- The figures -------------------------------------------------------------------------


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    mode = QUICK if quick else FULL
    return asyncio.run(_measure(env, mode))


async def _measure(env: BenchEnv, mode: Mode) -> list[Figure]:
    async with env.database("mc2cm_bench_p6") as database_url:
        settings = settings_for(database_url, env.redis_url)
        edition = await prepare(settings, database_url, mode)
        html = await asyncio.to_thread(html_figure, env, database_url, edition, mode)
        pdf = await asyncio.to_thread(pdf_figure, settings, database_url, edition, mode)
        return [html, pdf]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="Shorter runs.")
    args = parser.parse_args()
    with bench_env() as env:
        print_figures(measure(env, args.quick))


if __name__ == "__main__":
    main()
