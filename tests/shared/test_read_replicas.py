"""Reads from a real hot standby, with read-your-writes (``shared.replicas``).

The module starts its own primary and a standby of it (pgserver's PostgreSQL binaries,
``pg_basebackup -R``): the machine's server is of another major version, and a base backup of
it would copy every database on it. The APIs read from the standby; the tests pause its
replay (``pg_wal_replay_pause()``) to hold it behind the primary, and stop it in the middle of
a load.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.cli.runtime import migrate_all, unit_of_work
from services.cli.seeding import seed_all
from shared.auth import Role
from shared.db import Database
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.replicas import CONSISTENCY_HEADER, parse_lsn, replica_name
from tests.conftest import make_settings
from tests.factories import Api
from tests.shared.postgres_server import PostgresServer
from tests.waiting import eventually
from tests.worker.conftest import Platform, open_platform


@pytest.fixture(scope="module")
def primary() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
async def standby(
    primary: PostgresServer, server_urls: tuple[str, str]
) -> AsyncIterator[PostgresServer]:
    """A hot standby of the migrated and seeded primary, caught up with it."""
    await migrate_all(primary.url)
    async with unit_of_work(make_settings(primary.url, server_urls[1]), name="seed") as session:
        await seed_all(session)
    server = PostgresServer(standby_of=primary)
    try:
        server.start()
        written = await _scalar(primary.url, "SELECT pg_current_wal_lsn()::text")
        await eventually(lambda: _replayed(server, written), message="the standby replays the seed")
        yield server
    finally:
        server.close()


async def _scalar(url: str, query: str) -> object:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def _replayed(standby: PostgresServer, position: object) -> bool:
    replayed = await _scalar(standby.url, "SELECT pg_last_wal_replay_lsn()::text")
    return replayed is not None and parse_lsn(str(replayed)) >= parse_lsn(str(position))


@pytest.fixture
async def platform(
    primary: PostgresServer, standby: PostgresServer, server_urls: tuple[str, str]
) -> AsyncIterator[Platform]:
    """Both APIs on the primary, reading from the standby (which is running and replaying)."""
    if standby.process is None:  # a test stopped it
        standby.start()
    await _scalar(standby.url, "SELECT pg_wal_replay_resume()")
    settings = make_settings(
        primary.url,
        server_urls[1],
        database_read_urls=[standby.url],
        db_replica_check_seconds=0.1,
        db_connect_timeout_seconds=2,
    )
    async with open_platform(settings) as opened:
        yield opened


def _samples(metrics: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def _reads_by(platform: Platform, database: str) -> float:
    metrics = (await platform.profiles.get("/metrics")).text
    return _samples(metrics, "mc2cm_db_reads_total").get((("database", database),), 0.0)


async def _new_source(platform: Platform) -> httpx.Response:
    response = await platform.profiles.post(
        "/v1/sources",
        role=Role.admin,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"title": f"Survey {uuid.uuid4().hex[:8]}", "kind": "survey"},
    )
    assert response.status_code == 201, response.text
    return response


async def test_reads_go_to_the_standby_and_a_consistency_token_reads_the_write(
    platform: Platform, standby: PostgresServer
) -> None:
    name = replica_name(standby.url)
    before = await _reads_by(platform, name)
    assert (await platform.profiles.get("/v1/cities/PTLIS")).status_code == 200
    assert (await platform.dialogue.get("/v1/events")).status_code == 200
    assert await _reads_by(platform, name) == before + 1  # the profiles API's own count

    await _scalar(standby.url, "SELECT pg_wal_replay_pause()")
    created = await _new_source(platform)
    token = created.headers[CONSISTENCY_HEADER]
    parse_lsn(token)
    path = created.headers["Location"]

    # Without the token the standby answers, as of before the write.
    assert (await platform.profiles.get(path)).status_code == 404
    # With it, the standby is waited for (it is paused), then the primary answers.
    primary_reads = await _reads_by(platform, "primary")
    fresh = await platform.profiles.get(path, headers={CONSISTENCY_HEADER: token})
    assert fresh.status_code == 200, fresh.text
    assert await _reads_by(platform, "primary") == primary_reads + 1
    assert "private" in fresh.headers["Cache-Control"]
    assert CONSISTENCY_HEADER in fresh.headers["Vary"]

    # The lag while paused is reported; once replay resumes, the standby answers the token.
    async def lagging() -> bool:
        metrics = (await platform.profiles.get("/metrics")).text
        lag = _samples(metrics, "mc2cm_db_replica_lag_bytes").get((("replica", name),), 0)
        return lag > 0

    await eventually(lagging, message="the standby's lag is reported")
    await _scalar(standby.url, "SELECT pg_wal_replay_resume()")
    standby_reads = await _reads_by(platform, name)
    caught_up = await platform.profiles.get(path, headers={CONSISTENCY_HEADER: token})
    assert caught_up.status_code == 200
    assert await _reads_by(platform, name) == standby_reads + 1


async def test_writes_and_reads_inside_a_write_run_on_the_primary(
    platform: Platform, standby: PostgresServer
) -> None:
    await _scalar(standby.url, "SELECT pg_wal_replay_pause()")
    created = await _new_source(platform)
    source = created.json()
    # A change reads the row it changes: on the primary, though the standby lacks it.
    changed = await platform.profiles.request(
        "PATCH",
        created.headers["Location"],
        role=Role.admin,
        headers={"If-Match": created.headers["ETag"]},
        json={"title": source["title"] + " (revised)"},
    )
    assert changed.status_code == 200, changed.text
    assert parse_lsn(changed.headers[CONSISTENCY_HEADER]) >= parse_lsn(
        created.headers[CONSISTENCY_HEADER]
    )
    # The worker's database never reads from replicas.
    worker_database = Database.from_settings(platform.settings, application_name="worker")
    try:
        assert worker_database.replicas is None
    finally:
        await worker_database.dispose()


async def test_a_standby_stopped_in_the_middle_of_a_load_costs_no_read(
    platform: Platform, standby: PostgresServer
) -> None:
    paths = ["/v1/cities", "/v1/indicators", "/v1/cities/TNTUN", "/v1/observations?city=PTLIS"]
    answers: list[httpx.Response] = []
    stopped = asyncio.Event()

    async def reader(n: int) -> None:
        after_stop = 0
        while after_stop < 15:
            answers.append(await platform.profiles.get(paths[n % len(paths)]))
            n += 1
            if stopped.is_set():
                after_stop += 1

    async def stop_midway() -> None:
        await eventually(lambda: len(answers) >= 40, message="the load is under way")
        await asyncio.to_thread(standby.stop, "fast")
        stopped.set()

    await asyncio.gather(*(reader(n) for n in range(4)), stop_midway())

    failed = [
        (r.request.url.path, r.status_code, r.text[:200]) for r in answers if r.status_code != 200
    ]
    assert failed == []
    ready = await platform.profiles.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    check = "postgresql replica " + replica_name(standby.url)
    assert body["checks"][check].startswith("down")
    assert body["checks"]["postgresql"] == "ok"

    # Back again, it is found up and takes reads again.
    standby.start()

    async def ready_again() -> bool:
        answer = await platform.profiles.get("/readyz")
        return answer.status_code == 200 and answer.json()["status"] == "ok"

    await eventually(ready_again, message="the standby is found up again")
    before = await _reads_by(platform, replica_name(standby.url))
    assert (await platform.profiles.get("/v1/cities")).status_code == 200
    assert await _reads_by(platform, replica_name(standby.url)) == before + 1


def test_a_replica_is_named_by_host_port_and_database_never_by_its_password() -> None:
    assert replica_name("postgresql://reader:secret@db-2:6432/mc2cm") == "db-2:6432/mc2cm"
    assert replica_name("postgresql://reader@/mc2cm?host=/run/pg") == "/run/pg:5432/mc2cm"
    assert re.fullmatch(r"[^@]*", replica_name("postgres://a:b@h/d")) is not None


async def test_every_write_answers_a_consistency_token_and_every_read_varies_on_it(
    api: Api,
) -> None:
    created = await api.post(
        "/v1/sources", role=Role.admin, json={"title": "Census", "kind": "census"}
    )
    assert created.status_code == 201, created.text
    parse_lsn(created.headers[CONSISTENCY_HEADER])
    refused = await api.post("/v1/sources", role=Role.admin, json={"kind": "census"})
    assert refused.status_code == 422
    assert CONSISTENCY_HEADER not in refused.headers

    read = await api.get(
        "/v1/cities", headers={CONSISTENCY_HEADER: created.headers[CONSISTENCY_HEADER]}
    )
    assert read.status_code == 200
    assert read.headers["Cache-Control"] == "no-cache, private"
    assert CONSISTENCY_HEADER in read.headers["Vary"]
    anonymous = await api.get("/v1/cities")
    assert anonymous.headers["Cache-Control"] == "no-cache, public"
    assert CONSISTENCY_HEADER in anonymous.headers["Vary"]


@pytest.mark.parametrize("token", ["", "16B3748", "0/16B3748/1", "123456789/0", "0/-1", "x/y"])
async def test_a_consistency_token_that_is_no_wal_position_is_a_400_naming_the_header(
    api: Api, token: str
) -> None:
    response = await api.get("/v1/cities", headers={CONSISTENCY_HEADER: token})

    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM_MEDIA_TYPE
    (error,) = response.json()["errors"]
    assert (error["field"], error["location"]) == (CONSISTENCY_HEADER, "header")
