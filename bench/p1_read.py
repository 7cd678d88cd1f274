"""P1 read: ``GET /v1/observations?city=&indicator=`` (100 rows) against a bare Starlette app.

Deterministic data, generated in SQL: the demo catalogue, then ``CITIES`` bench cities x
``INDICATORS`` bench indicators x 100 yearly totals each (200,000 observations in full mode),
so that the query must find its 100 rows among many. The profiles API is served as in
production (``mc2cm serve profiles``: one uvicorn process, uvloop, httptools) and the raw
baseline (``bench/raw_read_app.py``: Starlette + asyncpg, the same SQL and JSON) by one
uvicorn process with the same pool size. One load generator process (this module with
``--load``: raw HTTP/1.1 on keep-alive connections, uvloop) drives each in turn for the same
time with the same concurrency, cycling over every city x indicator; rounds alternate
ours / raw and each side keeps its best round, as the machine is shared.

    .venv/bin/python -m bench.p1_read [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from services.cli.runtime import migrate_all, unit_of_work
from services.profiles_api.demo.seed import seed
from shared.settings import Settings, to_libpq_url

SECRET = "bench-secret-" + "x" * 40
ROWS = 100  # observations per city x indicator: the page the figure asks for
POOL_SIZE = 20  # the API's default MC2CM_DB_POOL_SIZE; the raw app gets the same
TEMPLATE_CITY = "ITTRN"
TEMPLATE_INDICATOR = "foreign_nationals"


@dataclass(frozen=True)
class Mode:
    cities: int
    indicators: int
    concurrency: int
    warmup: float
    seconds: float  # measured on each side, in alternating slices
    slices: int


FULL = Mode(cities=50, indicators=40, concurrency=32, warmup=3, seconds=40, slices=10)
QUICK = Mode(cities=20, indicators=10, concurrency=32, warmup=1, seconds=6, slices=3)


def city_codes(count: int) -> list[str]:
    return [f"ZB{index:03d}" for index in range(count)]


def indicator_codes(count: int) -> list[str]:
    return [f"bench_read_{index:02d}" for index in range(count)]


async def prepare(database_url: str, redis_url: str, mode: Mode) -> int:
    """Migrate and fill the database; the number of observations."""
    settings = Settings(database_url=database_url, redis_url=redis_url, jwt_secret=SECRET)
    await migrate_all(database_url)
    async with unit_of_work(settings, name="bench") as session:
        await seed(session)
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        # Copies of a demo city and indicator under new codes, whatever their columns.
        await connection.execute(
            """INSERT INTO profiles.city
               SELECT (jsonb_populate_record(NULL::profiles.city,
                       to_jsonb(c) || jsonb_build_object('code', n.new_code))).*
               FROM profiles.city AS c, unnest($1::text[]) AS n(new_code) WHERE c.code = $2""",
            city_codes(mode.cities),
            TEMPLATE_CITY,
        )
        await connection.execute(
            """INSERT INTO profiles.indicator
               SELECT (jsonb_populate_record(NULL::profiles.indicator,
                       to_jsonb(i) || jsonb_build_object('code', n.new_code))).*
               FROM profiles.indicator AS i, unnest($1::text[]) AS n(new_code) WHERE i.code = $2""",
            indicator_codes(mode.indicators),
            TEMPLATE_INDICATOR,
        )
        await add_yearly_series(
            connection,
            city_codes(mode.cities),
            indicator_codes(mode.indicators),
            years=(2026 - ROWS, 2025),
            source_title="Bench register",
        )
        await connection.execute("ANALYZE profiles.observation")
        count: int = await connection.fetchval("SELECT count(*) FROM profiles.observation")
        return count
    finally:
        await connection.close()


async def add_yearly_series(
    connection: asyncpg.Connection,
    cities: list[str],
    indicators: list[str],
    *,
    years: tuple[int, int],
    source_title: str,
) -> None:
    """Every city x indicator's yearly totals of ``years`` (first, last), from one new source
    of rank 1, inserted year after year as imports bring them (a series' rows lie on as many
    pages), each row with its source's rank as the writer gives it."""
    source_id = await connection.fetchval(
        """INSERT INTO profiles.source (title, publisher, url, kind, reliability_rank)
           VALUES ($1, 'Bench office', 'https://example.org/bench', 'administrative', 1)
           RETURNING id""",
        source_title,
    )
    await connection.execute(
        """INSERT INTO profiles.observation (city_code, indicator_code, period, period_start,
               period_end, scope, disaggregation, dimensions, value, obs_status, source_id,
               reliability_rank, created_at, updated_at)
           SELECT city, indicator, year::text, make_date(year, 1, 1), make_date(year, 12, 31),
                  'municipality', '', '{}',
                  1000 + (ci * 7919 + ii * 104729 + year * 31) % 90000,
                  'A', $3, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
           FROM unnest($1::text[]) WITH ORDINALITY AS c(city, ci),
                unnest($2::text[]) WITH ORDINALITY AS i(indicator, ii),
                generate_series($4::int, $5::int) AS year
           ORDER BY year, ci, ii""",
        cities,
        indicators,
        source_id,
        *years,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[int, str]]:
    """A server process on a free port, killed on the way out whatever happens."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=os.environ | env, stdout=output, stderr=output
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}: see {log}")
            try:
                httpx.get(f"{url}/v1/observations?city=x&indicator=y", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield process.pid, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def paths(mode: Mode) -> list[str]:
    return [
        f"/v1/observations?city={city}&indicator={indicator}&limit={ROWS}"
        for city in city_codes(mode.cities)
        for indicator in indicator_codes(mode.indicators)
    ]


# --- The load generator (runs in a process of its own) ----------------------------------


async def _connection_loop(
    host: str,
    port: int,
    targets: list[str],
    offset: int,
    stride: int,
    until: float,
    measure_from: float,
    latencies: list[float],
    errors: list[int],
    answered: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
        for path in targets
    ]
    index = offset
    try:
        while (now := time.perf_counter()) < until:
            writer.write(requests[index % len(requests)])
            index += stride
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            answered.append(1)
            if now >= measure_from:
                if status != 200:
                    errors.append(status)
                latencies.append(time.perf_counter() - now)
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive_one(
    url: str, targets: list[str], concurrency: int, warmup: float, seconds: float
) -> tuple[list[float], int, int]:
    """``concurrency`` keep-alive connections on ``url`` for ``warmup + seconds``; the
    latencies of the requests sent after the warm-up, how many were not 200, and how many
    were answered in all."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors: list[int] = []
    answered: list[int] = []
    measure_from = time.perf_counter() + warmup
    until = measure_from + seconds
    await asyncio.gather(
        *(
            _connection_loop(
                host,
                int(port),
                targets,
                n,
                concurrency,
                until,
                measure_from,
                latencies,
                errors,
                answered,
            )
            for n in range(concurrency)
        )
    )
    return latencies, len(errors), len(answered)


async def _load(
    urls: list[str],
    pids: list[int],
    targets: list[str],
    concurrency: int,
    warmup: float,
    seconds: float,
    slices: int,
) -> dict[str, Any]:
    """Drive each URL in turn, in ``slices`` alternating slices of ``seconds / slices``, so
    that a neighbour's load on the shared machine falls on both sides alike. With the
    servers' ``pids``, also the CPU time each spent per answer (what a neighbour's load
    barely changes)."""
    started = time.perf_counter()
    latencies: dict[str, list[float]] = {url: [] for url in urls}
    errors = dict.fromkeys(urls, 0)
    answers = dict.fromkeys(urls, 0)
    cpu = dict.fromkeys(urls, 0.0)
    for url in urls:
        await _drive_one(url, targets, concurrency, warmup, 0)
    for _ in range(slices):
        for url, pid in zip(urls, pids or [0] * len(urls), strict=True):
            before = cpu_seconds(pid) if pid else 0.0
            measured, failed, answered = await _drive_one(
                url, targets, concurrency, 0.2, seconds / slices
            )
            cpu[url] += (cpu_seconds(pid) if pid else 0.0) - before
            latencies[url] += measured
            errors[url] += failed
            answers[url] += answered
    usage = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - started
    results: dict[str, Any] = {"generator_cpu": (usage.ru_utime + usage.ru_stime) / wall}
    for url, measured in latencies.items():
        measured.sort()
        results[url] = {
            "requests": len(measured),
            "errors": errors[url],
            "rps": len(measured) / seconds,
            "p50_ms": 1000 * measured[len(measured) // 2] if measured else 0.0,
            "p99_ms": 1000 * measured[int(len(measured) * 0.99)] if measured else 0.0,
            "cpu_ms": 1000 * cpu[url] / answers[url] if answers[url] else 0.0,
        }
    return results


def run_load(
    urls: list[str], mode: Mode, targets_file: Path, pids: list[int] | None = None
) -> dict[str, Any]:
    """Drive ``urls`` from another process; its figures as a dict (one entry per URL)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.p1_read",
            "--targets",
            str(targets_file),
            "--concurrency",
            str(mode.concurrency),
            "--warmup",
            str(mode.warmup),
            "--seconds",
            str(mode.seconds),
            "--slices",
            str(mode.slices),
            "--pids",
            *(str(pid) for pid in pids or []),
            "--load",
            *urls,
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


# --- The figure -------------------------------------------------------------------------


def same_body(ours: str, raw: str, path: str) -> str:
    """Compare both answers to one request: "byte-equal", "same items", or raise."""
    a, b = httpx.get(ours + path), httpx.get(raw + path)
    a.raise_for_status()
    b.raise_for_status()
    if a.content == b.content:
        return "byte-equal"
    if a.json() == b.json():
        return "same items"
    raise AssertionError(f"the raw app does not answer as the API does for {path}")


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    mode = QUICK if quick else FULL
    return asyncio.run(_measure(env, mode))


async def _measure(env: BenchEnv, mode: Mode) -> list[Figure]:
    async with env.database("mc2cm_bench_p1") as database_url:
        observations = await prepare(database_url, env.redis_url, mode)
        return await asyncio.to_thread(_drive, env, database_url, mode, observations)


def _drive(env: BenchEnv, database_url: str, mode: Mode, observations: int) -> list[Figure]:
    targets = paths(mode)
    targets_file = env.workdir / "p1_targets.json"
    targets_file.write_text(json.dumps(targets))
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
        "bench.raw_read_app:create_app",
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
    log = env.workdir / "p1_servers.log"
    with (
        server(ours_command, server_env, log) as (ours_pid, ours_url),
        server(raw_command, server_env, log) as (raw_pid, raw_url),
    ):
        equality = same_body(ours_url, raw_url, targets[len(targets) // 2])
        results = run_load([ours_url, raw_url], mode, targets_file, [ours_pid, raw_pid])
    ours, raw = results[ours_url], results[raw_url]
    generator = results["generator_cpu"]
    errors = ours["errors"] + raw["errors"]
    return [
        Figure(
            key="P1",
            name=f"GET /v1/observations?city=&indicator= ({ROWS} rows)",
            ours=ours["rps"],
            raw=raw["rps"],
            unit="req/s",
            target=0.8,
            better="higher",
            baseline="bare Starlette + asyncpg, same SQL and JSON",
            notes=[
                f"p50/p99 ours {ours['p50_ms']:.1f}/{ours['p99_ms']:.1f} ms, "
                f"raw {raw['p50_ms']:.1f}/{raw['p99_ms']:.1f} ms",
                f"server CPU per request ours {ours['cpu_ms']:.2f} ms, raw {raw['cpu_ms']:.2f} ms "
                f"(ratio {raw['cpu_ms'] / ours['cpu_ms'] if ours['cpu_ms'] else 0:.2f})",
                f"{observations:,} observations, {mode.concurrency} connections, "
                f"{mode.seconds:g} s each in {mode.slices} alternating slices",
                f"load generator at {100 * generator:.0f}% of a core; bodies {equality}",
                *([f"{errors} non-200 answers"] if errors else []),
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="Smaller data, shorter runs.")
    parser.add_argument("--load", metavar="URL", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--slices", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--pids", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--targets", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        import uvloop

        targets = json.loads(args.targets.read_text())
        result = uvloop.run(
            _load(
                args.load,
                args.pids,
                targets,
                args.concurrency,
                args.warmup,
                args.seconds,
                args.slices,
            )
        )
        print(json.dumps(result))
        return
    with bench_env() as env:
        print_figures(measure(env, args.quick))


if __name__ == "__main__":
    main()
