"""Soak: both APIs and the worker under mixed load for 20 minutes; errors, latency, memory
and the outbox's lag.

The stack runs as in production, on the bench's PostgreSQL and Redis (``bench/env.py``): the
profiles and dialogue APIs each as ``mc2cm serve`` (one uvicorn process, uvloop, httptools),
``mc2cm worker`` (relay, jobs, cron) on a queue of its own, and aiosmtpd as the mail server
the worker's notifications go to. The database holds the demo (``seed_all``) plus 20 bench
indicators with 40 yearly totals for each demo city.

1. The read capacity: ``PROBE_CLIENTS`` clients, each sending its next read as soon as the
   last is answered (a closed loop), for ``probe`` seconds.
2. The soak, open-loop at 70 % of that rate: requests start on time whatever the answers take,
   and a latency counts from when its request was due. Nine requests in ten are anonymous
   reads spread over the public endpoints (observations with filters, series, the catalogue,
   aggregates and compare, a city's profile and sections, the public pages, small CSV exports,
   the dialogue's events, recommendations and calendars); one in ten is a write by an editor,
   with an ``Idempotency-Key``, made so that it cannot conflict: an observation, a person
   registered to an event, or a section's text (``bench/soak_requests.py``).
3. After the load: the time until every outbox row of both schemas is handled.

Reported: errors (any answer but 2xx/3xx, or a transport error; target 0), p50/p99 per route
family, each process's RSS at the soak's start and end (target: growth < 10 %), and the
outbox drained (target: within 10 s). It exits 0 whatever the figures: it is a measurement.

    .venv/bin/python -m bench.soak [--minutes 20]

``make bench`` runs it for 1 minute (``--quick``: 20 seconds) through ``measure``. The
requests are in ``bench/soak_requests.py``, the schedule, loops and report in
``bench/soak_load.py``, the HTTP client the load uses in ``bench/soak_http.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from bench.p1_read import add_yearly_series, cpu_seconds, free_port, server
from bench.p5_fanout import smtp_server
from bench.soak_http import Pool
from bench.soak_load import MAX_IN_FLIGHT, Report, closed_loop, open_loop, schedule
from bench.soak_requests import (
    CITIES,
    FIRST_YEAR,
    INDICATORS,
    LAST_YEAR,
    READ_WEIGHTS,
    SECRET,
    SEED,
    Load,
    check_targets,
    read_targets,
    set_up,
)
from services.cli.runtime import migrate_all, unit_of_work
from services.cli.seeding import seed_all
from shared.settings import Settings, to_libpq_url

PROBE_CLIENTS = 16
LOAD_SHARE = 0.7
OUTBOX_TARGET_SECONDS = 10.0
#: Keep-alive connections of the load to each API, as a proxy keeps upstream: a request waits
#: for a free one (the wait counts in its latency), and an API never holds more requests
#: than its database pool (20) can serve.
CONNECTIONS = 16
RSS_TARGET = 1.10
OUTBOX_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Mode:
    minutes: float
    probe_seconds: float
    warmup_seconds: float


def mode_for(minutes: float) -> Mode:
    return Mode(
        minutes=minutes,
        probe_seconds=15 if minutes >= 5 else 8,
        warmup_seconds=5 if minutes >= 5 else 2,
    )


# --- The data ---------------------------------------------------------------------------


async def prepare(database_url: str, redis_url: str) -> int:
    """Migrate, seed the demo and add the bench series; the number of observations."""
    settings = Settings(database_url=database_url, redis_url=redis_url, jwt_secret=SECRET)
    await migrate_all(database_url)
    async with unit_of_work(settings, name="bench") as session:
        await seed_all(session)
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await connection.execute(
            """INSERT INTO profiles.indicator
               SELECT (jsonb_populate_record(NULL::profiles.indicator,
                       to_jsonb(i) || jsonb_build_object('code', n.new_code))).*
               FROM profiles.indicator AS i, unnest($1::text[]) AS n(new_code)
               WHERE i.code = 'foreign_nationals'""",
            list(INDICATORS),
        )
        await add_yearly_series(
            connection,
            list(CITIES),
            list(INDICATORS),
            years=(FIRST_YEAR, LAST_YEAR),
            source_title="Soak register",
        )
        await connection.execute("ANALYZE profiles.observation")
        count: int = await connection.fetchval("SELECT count(*) FROM profiles.observation")
        return count
    finally:
        await connection.close()


# --- The stack --------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    profiles: str
    dialogue: str
    pids: dict[str, int]  # "profiles API", "dialogue API", "worker"


@contextmanager
def worker_process(env: dict[str, str], log: Path, metrics_port: int) -> Iterator[int]:
    """``mc2cm worker`` running until its ``/readyz`` answers 200; its pid. Stopped after."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            env=os.environ | env,
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}: see {log}")
            try:
                if httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker was not ready after 60 s: see {log}")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_stack(env: BenchEnv, database_url: str, run: str) -> Iterator[Stack]:
    """Both APIs, the worker and a mail sink on ``database_url``; stopped afterwards."""
    log = env.workdir / "soak.log"
    smtp_port, metrics_port = free_port(), free_port()
    common = {
        "MC2CM_DATABASE_URL": database_url,
        "MC2CM_REDIS_URL": env.redis_url,
        "MC2CM_JWT_SECRET": SECRET,
        "MC2CM_LOG_LEVEL": "WARNING",
        # Queue, rate-limit counters and operations port of their own: other runs on the
        # same Redis and machine neither take these jobs nor count these writes.
        "MC2CM_QUEUE_NAME": f"soak-{run}",
        "MC2CM_RATE_LIMIT_KEY_PREFIX": f"soak-{run}:rate-limit",
        "MC2CM_METRICS_HOST": "127.0.0.1",
        "MC2CM_METRICS_PORT": str(metrics_port),
        "MC2CM_SMTP_HOST": "127.0.0.1",
        "MC2CM_SMTP_PORT": str(smtp_port),
    }
    serve = [sys.executable, "-m", "services.cli", "serve"]
    with (
        smtp_server(smtp_port),
        server([*serve, "profiles"], common, log) as (profiles_pid, profiles),
    ):
        # The dialogue and the worker read figures from, and link to, the profiles API.
        linked = common | {"MC2CM_PROFILES_API_URL": profiles, "MC2CM_PUBLIC_URL": profiles}
        with (
            server([*serve, "dialogue"], linked, log) as (dialogue_pid, dialogue),
            worker_process(linked, log, metrics_port) as worker_pid,
        ):
            yield Stack(
                profiles=profiles,
                dialogue=dialogue,
                pids={
                    "profiles API": profiles_pid,
                    "dialogue API": dialogue_pid,
                    "worker": worker_pid,
                },
            )


def own_cpu_seconds() -> float:
    """User and system CPU time of this process (the load generator) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> float:
    """The resident set of process ``pid`` (``VmRSS`` in ``/proc/<pid>/status``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def unhandled_outbox(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval(
        "SELECT (SELECT count(*) FROM profiles.outbox WHERE handled_at IS NULL)"
        " + (SELECT count(*) FROM dialogue.outbox WHERE handled_at IS NULL)"
    )
    return count


async def drain_seconds(database_url: str, timeout: float) -> tuple[float | None, int]:
    """Seconds until no outbox row of either schema is unhandled (None: not within
    ``timeout``), and how many were unhandled when it started."""
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        started = time.perf_counter()
        first = await unhandled_outbox(connection)
        left = first
        while left:
            if time.perf_counter() - started > timeout:
                return None, first
            await asyncio.sleep(0.05)
            left = await unhandled_outbox(connection)
        return time.perf_counter() - started, first
    finally:
        await connection.close()


# --- The run ----------------------------------------------------------------------------


@dataclass
class Result:
    minutes: float
    observations: int
    capacity: float
    rate: float
    report: Report
    rss_start: dict[str, float]
    rss_end: dict[str, float]
    rss_peak: dict[str, float]
    cpu_share: dict[str, float]  # cores used during the soak, per process and the generator
    drain: float | None
    unhandled_at_stop: int
    unhandled_before: int
    probe_errors: int


async def soak(env: BenchEnv, mode: Mode) -> Result:
    run = uuid.uuid4().hex[:8]
    async with env.database("mc2cm_bench_soak") as database_url:
        observations = await prepare(database_url, env.redis_url)
        settings = Settings(database_url=database_url, redis_url=env.redis_url, jwt_secret=SECRET)
        with running_stack(env, database_url, run) as running:
            try:
                return await drive(running, settings, database_url, mode, run, observations)
            except Exception:
                log = env.workdir / "soak.log"
                if log.exists():
                    sys.stderr.write(f"--- {log}\n{log.read_text()[-6000:]}\n")
                raise


async def drive(
    running: Stack,
    settings: Settings,
    database_url: str,
    mode: Mode,
    run: str,
    observations: int,
) -> Result:
    tokens, event_ids = await set_up(running.profiles, running.dialogue, settings, run)
    # The seed's and the set-up's events handled: the soak starts from an empty outbox.
    before, unhandled_before = await drain_seconds(database_url, OUTBOX_TIMEOUT_SECONDS)
    if before is None:
        raise RuntimeError(f"{unhandled_before} outbox rows still unhandled before the load")
    profiles, dialogue = Pool(running.profiles, CONNECTIONS), Pool(running.dialogue, CONNECTIONS)
    try:
        load = Load(profiles, dialogue, tokens, event_ids, read_targets(event_ids), run)
        await check_targets(load)
        reads = (slot for slot in schedule(READ_WEIGHTS, SEED) if not slot.write)
        probe = await closed_loop(
            load.send, reads, PROBE_CLIENTS, mode.warmup_seconds, mode.probe_seconds
        )
        capacity = probe.rate
        rate = LOAD_SHARE * capacity
        print(
            f"read capacity {capacity:,.0f} req/s ({probe.error_count} errors); "
            f"soak at {rate:,.0f} req/s for {60 * mode.minutes:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        rss_start = {name: rss_mb(pid) for name, pid in running.pids.items()}
        rss_peak = dict(rss_start)
        cpu_start = {name: cpu_seconds(pid) for name, pid in running.pids.items()}
        cpu_start["load generator"] = own_cpu_seconds()
        wall_start = time.perf_counter()

        def sample(elapsed: float) -> None:
            for name, pid in running.pids.items():
                rss_peak[name] = max(rss_peak[name], rss_mb(pid))
            if int(elapsed) % 60 == 0 and elapsed >= 60:
                print(f"… {elapsed / 60:.0f} min", file=sys.stderr, flush=True)

        report = await open_loop(
            load.send, schedule(READ_WEIGHTS, SEED + 1), rate, 60 * mode.minutes, sample
        )
        rss_end = {name: rss_mb(pid) for name, pid in running.pids.items()}
        wall = time.perf_counter() - wall_start
        cpu_end = {name: cpu_seconds(pid) for name, pid in running.pids.items()}
        cpu_end["load generator"] = own_cpu_seconds()
        cpu_share = {name: (cpu_end[name] - cpu_start[name]) / wall for name in cpu_start}
    finally:
        await profiles.close()
        await dialogue.close()
    drain, unhandled_at_stop = await drain_seconds(database_url, OUTBOX_TIMEOUT_SECONDS)
    return Result(
        minutes=mode.minutes,
        observations=observations,
        capacity=capacity,
        rate=rate,
        report=report,
        rss_start=rss_start,
        rss_end=rss_end,
        rss_peak=rss_peak,
        cpu_share=cpu_share,
        drain=drain,
        unhandled_at_stop=unhandled_at_stop,
        unhandled_before=unhandled_before,
        probe_errors=probe.error_count,
    )


def figures(result: Result) -> list[Figure]:
    report = result.report
    errors = report.error_count
    answered = report.requests - errors
    minutes = f"{result.minutes:g} min" if result.minutes >= 1 else f"{result.minutes * 60:.0f} s"
    first = [f"error: {outcome.what}" for outcome in report.errors[:5]]
    if report.shed:
        first.append(f"{report.shed} requests not sent: {MAX_IN_FLIGHT_NOTE}")
    families = [
        f"{family}: {count:,} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        for family, (count, p50, p99) in report.families().items()
    ]
    out = [
        Figure(
            key="P9a",
            name=f"soak {minutes}: requests answered 2xx/3xx of those sent",
            ours=answered,
            raw=report.requests,
            unit="requests",
            target=1.0,
            better="higher",
            baseline="requests sent",
            notes=[f"{errors} errors (target 0: {'met' if errors == 0 else 'not met'})", *first],
        ),
        Figure(
            key="P9b",
            name=f"soak {minutes}: open-loop rate against the read capacity",
            ours=len(report.starts) / report.seconds,
            raw=result.capacity,
            unit="req/s",
            baseline=f"closed-loop reads, {PROBE_CLIENTS} clients",
            notes=[
                f"{len(report.starts):,} operations in {report.seconds:.0f} s, 90 % reads and "
                f"10 % writes; {len(report.outcomes):,} requests ({report.rate:.1f}/s: a "
                "registration also creates its person, a section write first reads its ETag); "
                f"{result.observations:,} observations before; probe errors "
                f"{result.probe_errors}",
                "load generator started requests late by p50 {:.1f} ms, p99 {:.1f} ms".format(
                    *report.lateness_ms()
                ),
                "CPU during the soak (cores): "
                + ", ".join(f"{name} {share:.2f}" for name, share in result.cpu_share.items()),
                *families,
            ],
        ),
    ]
    for n, name in enumerate(result.rss_start):
        start, end, peak = result.rss_start[name], result.rss_end[name], result.rss_peak[name]
        growth = 100 * (end / start - 1) if start else 0.0
        out.append(
            Figure(
                key=f"P9{'cde'[n]}",
                name=f"soak {minutes}: RSS of the {name}, end ÷ start",
                ours=end,
                raw=start,
                unit="MB",
                target=RSS_TARGET,
                better="lower",
                baseline="RSS at the soak's start (after the capacity probe)",
                notes=[
                    f"growth {growth:+.1f} % (target < {100 * (RSS_TARGET - 1):.0f} %: "
                    f"{'met' if end <= start * RSS_TARGET else 'not met'}); peak {peak:.0f} MB"
                ],
            )
        )
    drained = result.drain if result.drain is not None else OUTBOX_TIMEOUT_SECONDS
    out.append(
        Figure(
            key="P9f",
            name=f"soak {minutes}: outbox drained after the load, both schemas",
            ours=drained,
            raw=OUTBOX_TARGET_SECONDS,
            unit="s",
            target=1.0,
            better="lower",
            baseline=f"the {OUTBOX_TARGET_SECONDS:g} s bound",
            notes=[
                f"{result.unhandled_at_stop} rows unhandled when the load stopped; "
                + (
                    f"drained in {result.drain:.2f} s"
                    if result.drain is not None
                    else f"not drained within {OUTBOX_TIMEOUT_SECONDS:g} s"
                )
                + f" (target ≤ {OUTBOX_TARGET_SECONDS:g} s: "
                + ("met" if result.drain is not None and result.drain <= 10 else "not met")
                + ")"
            ],
        )
    )
    return out


MAX_IN_FLIGHT_NOTE = (
    f"more than {MAX_IN_FLIGHT} requests were still waiting (the stack fell behind)"
)


def measure(env: BenchEnv, quick: bool, minutes: float | None = None) -> list[Figure]:
    """The soak for ``minutes`` (``make bench``: 1; ``--quick``: a third of one)."""
    chosen = minutes if minutes is not None else (1 / 3 if quick else 1.0)
    return figures(asyncio.run(soak(env, mode_for(chosen))))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20, help="Length of the soak.")
    args = parser.parse_args()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with bench_env() as env:
        result = measure(env, quick=False, minutes=args.minutes)
    print(f"soak started {started}, {args.minutes:g} min, {os.cpu_count()} cores")
    print_figures(result)


if __name__ == "__main__":
    main()
