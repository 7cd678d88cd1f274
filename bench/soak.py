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
   with an ``Idempotency-Key``, made so that it cannot conflict: an observation under a key
   of its own (or a new value of one, upserted), a new person registered to an event (a
   unique e-mail address), or a section's text replaced with ``If-Match`` of the ETag just
   read, one writer per section at a time. Writes are spread over ``EDITORS`` editor tokens,
   so none reaches the write rate limit (on, as in production).
3. After the load: the time until every outbox row of both schemas is handled.

Reported: errors (any answer but 2xx/3xx, or a transport error; target 0), p50/p99 per route
family, each process's RSS at the soak's start and end (target: growth < 10 %), and the
outbox drained (target: within 10 s). It exits 0 whatever the figures: it is a measurement.

    .venv/bin/python -m bench.soak [--minutes 20]

``make bench`` runs it for 1 minute (``--quick``: 20 seconds) through ``measure``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from bench.p1_read import free_port, server
from bench.p5_fanout import smtp_server
from bench.soak_load import (
    Outcome,
    Report,
    Slot,
    closed_loop,
    is_error,
    open_loop,
    schedule,
)
from services.cli.runtime import migrate_all, unit_of_work
from services.cli.seeding import seed_all
from shared.auth import Role, issue_token
from shared.settings import Settings, to_libpq_url

SECRET = "bench-soak-secret-" + "x" * 40
SEED = 20261205
#: The demo's cities: every read and write names one of them.
CITIES = ("PTLIS", "ESMAD", "FRLYS", "ITTRN", "MATNG", "TNTUN", "LBBEY", "JOAMM", "ATVIE")
#: Bench indicators added beside the demo's (copies of ``foreign_nationals``), 40 years each.
INDICATORS = tuple(f"bench_soak_{n:02d}" for n in range(20))
FIRST_YEAR, LAST_YEAR = 1986, 2025
#: Years the observation writes use: none of the loaded ones, so a write's key is its own
#: until all of them are used, then writes upsert new values of the same keys.
WRITE_YEARS = range(1901, 1981)
SECTIONS = (
    "synopsis",
    "national_context",
    "data_reflections",
    "demography",
    "health",
    "education",
    "housing",
    "employment",
)
#: Editor tokens the writes are spread over (the write rate limit is per token subject).
EDITORS = 100
#: Events the registrations go to; a full one puts people on its waitlist (still a 201).
EVENTS = 4
PROBE_CLIENTS = 16
LOAD_SHARE = 0.7
OUTBOX_TARGET_SECONDS = 10.0
RSS_TARGET = 1.10
OUTBOX_TIMEOUT_SECONDS = 300.0
#: How each read family weighs in the reads (sums to 100).
READ_WEIGHTS: dict[str, int] = {
    "observations": 30,
    "catalogue": 12,
    "aggregates": 15,
    "city-profiles": 8,
    "pages": 8,
    "exports": 7,
    "dialogue-reads": 20,
}


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
        source_id = await connection.fetchval(
            """INSERT INTO profiles.source (title, publisher, url, kind, reliability_rank)
               VALUES ('Soak register', 'Bench office', 'https://example.org/soak',
                       'administrative', 1) RETURNING id"""
        )
        await connection.execute(
            """INSERT INTO profiles.observation (city_code, indicator_code, period, period_start,
                   period_end, scope, disaggregation, dimensions, value, obs_status, source_id,
                   created_at, updated_at)
               SELECT city, indicator, year::text, make_date(year, 1, 1), make_date(year, 12, 31),
                      'municipality', '', '{}',
                      1000 + (ci * 7919 + ii * 104729 + year * 31) % 90000,
                      'A', $3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
               FROM unnest($1::text[]) WITH ORDINALITY AS c(city, ci),
                    unnest($2::text[]) WITH ORDINALITY AS i(indicator, ii),
                    generate_series($4::int, $5::int) AS year
               ORDER BY year, ci, ii""",
            list(CITIES),
            list(INDICATORS),
            source_id,
            FIRST_YEAR,
            LAST_YEAR,
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


# --- The requests -----------------------------------------------------------------------


def read_targets(event_ids: list[int]) -> dict[str, list[tuple[str, str]]]:
    """Per read family, the (service, path) requests it is drawn from, all anonymous."""
    series = [(c, i) for c in CITIES for i in INDICATORS[:5]]
    compare = ",".join(CITIES[:4])
    targets: dict[str, list[tuple[str, str]]] = {
        "observations": [
            *(
                ("profiles", f"/v1/observations?city={c}&indicator={i}&limit=100")
                for c, i in series
            ),
            *(("profiles", f"/v1/observations?city={c}&theme=demography&limit=50") for c in CITIES),
            *(
                ("profiles", f"/v1/observations?indicator={i}&period_from=2000&period_to=2010")
                for i in INDICATORS[:5]
            ),
            *(("profiles", f"/v1/observations?city={c}&preferred=true&limit=50") for c in CITIES),
        ],
        "catalogue": [
            ("profiles", "/v1/cities"),
            *(("profiles", f"/v1/cities/{c}") for c in CITIES),
            ("profiles", "/v1/indicators"),
            ("profiles", "/v1/indicators/foreign_nationals"),
            ("profiles", "/v1/sources"),
            ("profiles", "/v1/themes"),
        ],
        "aggregates": [
            *(("profiles", f"/v1/aggregates?indicator={i}") for i in INDICATORS[:5]),
            ("profiles", "/v1/aggregates?indicator=foreign_nationals&group=network"),
            *(
                ("profiles", f"/v1/compare?indicator={i}&cities={compare}")
                for i in (*INDICATORS[:3], "foreign_nationals")
            ),
            *(("profiles", f"/v1/coverage?city={c}") for c in CITIES[:3]),
        ],
        "city-profiles": [
            *(("profiles", f"/v1/cities/{c}/profile") for c in CITIES),
            *(("profiles", f"/v1/cities/{c}/sections") for c in CITIES),
        ],
        "pages": [
            ("profiles", "/"),
            *(("profiles", f"/cities/{c}") for c in CITIES),
            ("profiles", f"/compare?indicator=foreign_nationals&cities={compare}"),
            ("dialogue", "/events"),
        ],
        "exports": [
            ("profiles", f"/v1/observations?city={c}&indicator={i}&format=csv")
            for c, i in series[::3]
        ],
        "dialogue-reads": [
            ("dialogue", "/v1/events"),
            *(("dialogue", f"/v1/events/{event}") for event in event_ids),
            ("dialogue", "/v1/recommendations"),
            ("dialogue", "/v1/actions"),
            ("dialogue", "/v1/calendar.ics"),
            ("dialogue", "/v1/cities"),
        ],
    }
    assert set(targets) == set(READ_WEIGHTS)
    return targets


@dataclass
class Load:
    """The clients, tokens and counters the requests of one run share."""

    profiles: httpx.AsyncClient
    dialogue: httpx.AsyncClient
    tokens: list[str]
    event_ids: list[int]
    targets: dict[str, list[tuple[str, str]]]
    run: str
    draw: random.Random = field(default_factory=lambda: random.Random(SEED))
    writes: dict[str, itertools.count[int]] = field(default_factory=dict)
    section_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.profiles if service == "profiles" else self.dialogue

    def next_write(self, family: str) -> int:
        return next(self.writes.setdefault(family, itertools.count()))

    def editor(self, n: int) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.tokens[n % len(self.tokens)]}",
            "Idempotency-Key": f"soak-{self.run}-{uuid.uuid4().hex}",
        }

    async def send(self, slot: Slot, due: float) -> list[Outcome]:
        if not slot.write:
            service, path = self.draw.choice(self.targets[slot.family])
            return [await request(self.client(service), "GET", path, slot.family, due)]
        if slot.family == "writes-observations":
            return await self.write_observation(due)
        if slot.family == "writes-registrations":
            return await self.register(due)
        return await self.write_section(due)

    async def write_observation(self, due: float) -> list[Outcome]:
        n = self.next_write("observations")
        keys = len(CITIES) * len(INDICATORS)
        body = {
            "observations": [
                {
                    "city": CITIES[n % len(CITIES)],
                    "indicator": INDICATORS[(n // len(CITIES)) % len(INDICATORS)],
                    "period": str(WRITE_YEARS[(n // keys) % len(WRITE_YEARS)]),
                    "scope": "municipality",
                    "value": 1000 + n,
                    "source": {"title": "Soak census", "kind": "census"},
                }
            ]
        }
        return [
            await request(
                self.profiles,
                "POST",
                "/v1/observations",
                "writes-observations",
                due,
                json=body,
                headers=self.editor(n),
            )
        ]

    async def register(self, due: float) -> list[Outcome]:
        """A new person of a demo city, then their registration to one of the events."""
        n = self.next_write("registrations")
        city = CITIES[n % len(CITIES)]
        person = {
            "name": f"Soak participant {n}",
            "email": f"soak.{self.run}.{n}@example.org",
            "role": "technical_focal_point",
            "city": city,
            "languages": ["en"],
            "consent_listed": True,
            "consent_contact": True,
        }
        created = await request(
            self.dialogue,
            "POST",
            "/v1/people",
            "writes-people",
            due,
            json=person,
            headers=self.editor(n),
            keep_body=True,
        )
        if is_error(created.status):
            return [created]
        event = self.event_ids[n % len(self.event_ids)]
        registered = await request(
            self.dialogue,
            "POST",
            f"/v1/events/{event}/registrations",
            "writes-registrations",
            time.perf_counter(),
            json={"person": created.body["id"], "status": "registered"},
            headers=self.editor(n),
        )
        return [created, registered]

    async def write_section(self, due: float) -> list[Outcome]:
        """A section's working text replaced, with ``If-Match`` of the ETag read just before
        (one writer per section at a time, so the ETag is still current)."""
        n = self.next_write("sections")
        city = CITIES[n % len(CITIES)]
        section = SECTIONS[(n // len(CITIES)) % len(SECTIONS)]
        path = f"/v1/cities/{city}/sections/{section}"
        headers = self.editor(n)
        lock = self.section_locks.setdefault((city, section), asyncio.Lock())
        async with lock:
            read = await request(
                self.profiles,
                "GET",
                f"{path}?view=working",
                "sections-etag-reads",
                due,
                headers={"Authorization": headers["Authorization"]},
            )
            if is_error(read.status):
                return [read]
            written = await request(
                self.profiles,
                "PUT",
                path,
                "writes-sections",
                time.perf_counter(),
                json={"narrative": {"en": f"Soak edit {n} of the {section} section."}},
                headers=headers | {"If-Match": read.etag},
            )
        return [read, written]


@dataclass
class Answer(Outcome):
    body: Any = None
    etag: str = ""


async def request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    family: str,
    started: float,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    keep_body: bool = False,
) -> Answer:
    """One request; its outcome, with the seconds since ``started`` (when it was due)."""
    try:
        response = await client.request(method, path, json=json, headers=headers)
    except httpx.HTTPError as error:
        return Answer(
            family,
            0,
            time.perf_counter() - started,
            f"{method} {path}: {type(error).__name__} {error}",
        )
    seconds = time.perf_counter() - started
    status = response.status_code
    what = f"{method} {path}: {status} {response.text[:300]}" if is_error(status) else ""
    body = response.json() if keep_body and not is_error(status) else None
    return Answer(family, status, seconds, what, body, response.headers.get("ETag", ""))


async def set_up(stack: Stack, settings: Settings, run: str) -> tuple[list[str], list[int]]:
    """Editor tokens, the events registrations go to, and every section written once (so
    the soak's section writes all replace a text: 200 with ``If-Match``)."""
    admin = {"Authorization": f"Bearer {issue_token(settings, subject='soak', role=Role.admin)}"}
    tokens = [
        issue_token(
            settings, subject=f"soak-editor-{n}@example.org", role=Role.editor, cities=CITIES
        )
        for n in range(EDITORS)
    ]
    starts = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0)
    event_ids = []
    async with (
        httpx.AsyncClient(base_url=stack.dialogue, headers=admin, timeout=60) as dialogue,
        httpx.AsyncClient(base_url=stack.profiles, headers=admin, timeout=60) as profiles,
    ):
        for n in range(EVENTS):
            response = await dialogue.post(
                "/v1/events",
                json={
                    "type": "technical_meeting",
                    "title": {"en": f"Soak meeting {n} ({run})"},
                    "themes": ["housing"],
                    "host_city": "TNTUN",
                    "participating_cities": list(CITIES),
                    "venue": "Hôtel de Ville, Tunis",
                    "starts_at": (starts + timedelta(days=n)).isoformat(),
                    "ends_at": (starts + timedelta(days=n, hours=8)).isoformat(),
                    "timezone": "Africa/Tunis",
                    "capacity": 200,
                    "languages": ["en", "fr"],
                },
            )
            response.raise_for_status()
            event_ids.append(response.json()["id"])
        for city in CITIES:
            for section in SECTIONS:
                path = f"/v1/cities/{city}/sections/{section}"
                read = await profiles.get(f"{path}?view=working")
                headers = {"If-Match": read.headers["ETag"]} if read.status_code == 200 else {}
                written = await profiles.put(
                    path, json={"narrative": {"en": f"Soak text of {section}."}}, headers=headers
                )
                written.raise_for_status()
    return tokens, event_ids


@asynccontextmanager
async def clients(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(base_url=stack.profiles, limits=limits, timeout=60) as profiles,
        httpx.AsyncClient(base_url=stack.dialogue, limits=limits, timeout=60) as dialogue,
    ):
        yield profiles, dialogue


async def check_targets(load: Load) -> None:
    """Every read target answers 2xx once before the load (a wrong path fails fast)."""
    for family, targets in load.targets.items():
        for service, path in targets:
            outcome = await request(load.client(service), "GET", path, family, time.perf_counter())
            if is_error(outcome.status):
                raise RuntimeError(f"read target fails before the load: {outcome.what}")


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
    tokens, event_ids = await set_up(running, settings, run)
    # The seed's and the set-up's events handled: the soak starts from an empty outbox.
    before, unhandled_before = await drain_seconds(database_url, OUTBOX_TIMEOUT_SECONDS)
    if before is None:
        raise RuntimeError(f"{unhandled_before} outbox rows still unhandled before the load")
    async with clients(running) as (profiles, dialogue):
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
            f"soak at {rate:,.0f} req/s for {mode.minutes:g} min",
            file=sys.stderr,
            flush=True,
        )
        rss_start = {name: rss_mb(pid) for name, pid in running.pids.items()}
        rss_peak = dict(rss_start)

        def sample(elapsed: float) -> None:
            for name, pid in running.pids.items():
                rss_peak[name] = max(rss_peak[name], rss_mb(pid))
            if int(elapsed) % 60 == 0 and elapsed >= 60:
                print(f"… {elapsed / 60:.0f} min", file=sys.stderr, flush=True)

        report = await open_loop(
            load.send, schedule(READ_WEIGHTS, SEED + 1), rate, 60 * mode.minutes, sample
        )
        rss_end = {name: rss_mb(pid) for name, pid in running.pids.items()}
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
        drain=drain,
        unhandled_at_stop=unhandled_at_stop,
        unhandled_before=unhandled_before,
        probe_errors=probe.error_count,
    )


def figures(result: Result) -> list[Figure]:
    report = result.report
    errors = report.error_count
    answered = report.requests - errors
    minutes = f"{result.minutes:g} min"
    first = [f"error: {outcome.what}" for outcome in report.errors[:5]]
    if report.shed:
        first.append(f"{report.shed} requests not sent: {MAX_IN_FLIGHT_NOTE}")
    families = [
        f"{family}: {count:,} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        for family, (count, p50, p99) in report.families().items()
    ]
    out = [
        Figure(
            key="P8a",
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
            key="P8b",
            name=f"soak {minutes}: open-loop rate against the read capacity",
            ours=report.rate,
            raw=result.capacity,
            unit="req/s",
            baseline=f"closed-loop reads, {PROBE_CLIENTS} clients",
            notes=[
                f"{len(report.outcomes):,} requests in {report.seconds:.0f} s "
                f"(90 % reads, 10 % writes by slot); {result.observations:,} observations "
                f"before; probe errors {result.probe_errors}",
                *families,
            ],
        ),
    ]
    for n, name in enumerate(result.rss_start):
        start, end, peak = result.rss_start[name], result.rss_end[name], result.rss_peak[name]
        growth = 100 * (end / start - 1) if start else 0.0
        out.append(
            Figure(
                key=f"P8{'cde'[n]}",
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
            key="P8f",
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


MAX_IN_FLIGHT_NOTE = "too many requests still waiting (the generator fell behind)"


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
