"""PostgreSQL or Redis away and back: the APIs answer 503 problem documents within their
limits instead of hanging or failing with a 500, name what is down on ``/readyz``, and serve
again by themselves once the server returns, without a restart.

PostgreSQL here is a server of the module's own (``PostgresServer``) that the tests stop and
start again on the same port; Redis for the Redis outage is the worker's ``RedisServer``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.cli.runtime import migrate_all, unit_of_work
from services.cli.seeding import seed_all
from shared.auth import Role
from shared.db import Database
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.problem_handlers import database_problem, database_unavailable
from shared.readiness import READY_TIMEOUT_SECONDS
from tests.conftest import make_settings
from tests.dialogue.factories import new_person
from tests.factories import Api, new_city
from tests.shared.postgres_server import PostgresServer
from tests.worker.conftest import Platform, open_platform
from tests.worker.redis_server import RedisServer

#: The engine's connect and pool limits in these tests (shorter than the 5 s defaults, so
#: the tests are quick); a request must answer within them and this margin.
CONNECT_TIMEOUT_SECONDS = 2.0
MARGIN_SECONDS = 1.5

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this module alone, running; removed afterwards."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
async def seeded(postgres: PostgresServer, server_urls: tuple[str, str]) -> str:
    """The module's PostgreSQL, migrated, with the demo data; its URL."""
    await migrate_all(postgres.url)
    async with unit_of_work(make_settings(postgres.url, server_urls[1]), name="seed") as session:
        await seed_all(session)
    return postgres.url


@asynccontextmanager
async def platform_on(
    postgres: PostgresServer, redis_url: str, **overrides: Any
) -> AsyncIterator[Platform]:
    """Both APIs on the module's PostgreSQL, which runs when the block starts."""
    postgres.resume()
    if postgres.process is None:  # a failed test may have left it stopped
        postgres.start()
    settings = make_settings(
        postgres.url,
        redis_url,
        **{
            "db_connect_timeout_seconds": CONNECT_TIMEOUT_SECONDS,
            "db_pool_timeout_seconds": CONNECT_TIMEOUT_SECONDS,
            **overrides,
        },
    )
    async with open_platform(settings) as opened:
        yield opened


@pytest.fixture
async def platform(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> AsyncIterator[Platform]:
    async with platform_on(postgres, server_urls[1]) as opened:
        yield opened


@dataclass
class Call:
    """One request of the tests: which API, and what it asks."""

    name: str
    api: str
    method: str
    path: str
    role: Role | None = None
    body: Any = None
    #: Sent with an ``Idempotency-Key`` (a new one each time), whose store needs PostgreSQL too.
    keyed: bool = False

    async def send(self, platform: Platform) -> tuple[httpx.Response, float]:
        """The response and how long it took, in seconds."""
        api: Api = getattr(platform, self.api)
        kwargs: dict[str, Any] = {"role": self.role}
        if self.keyed:
            kwargs["headers"] = {"Idempotency-Key": uuid.uuid4().hex}
        if self.body is not None:
            kwargs["json"] = self.body() if callable(self.body) else self.body
        started = time.monotonic()
        response = await api.request(self.method, self.path, **kwargs)
        return response, time.monotonic() - started


_CITY_NUMBERS = itertools.count(1)


def fresh_city() -> dict[str, Any]:
    """A Greek city no other request creates (codes GRZ + two letters)."""
    n = next(_CITY_NUMBERS)
    code = "GRZ" + chr(ord("A") + n // 26) + chr(ord("A") + n % 26)
    return new_city(code=code, names={"en": f"City {code}"})


#: Reads and writes of both APIs, each needing PostgreSQL.
CALLS = [
    Call("profiles read", "profiles", "GET", "/v1/cities/PTLIS"),
    Call("profiles write", "profiles", "POST", "/v1/cities", Role.admin, fresh_city),
    Call("dialogue read", "dialogue", "GET", "/v1/people", Role.admin),
    Call("dialogue write", "dialogue", "POST", "/v1/people", Role.admin, new_person),
    Call("profiles keyed write", "profiles", "POST", "/v1/cities", Role.admin, fresh_city, True),
    Call("dialogue keyed write", "dialogue", "POST", "/v1/people", Role.admin, new_person, True),
]


def assert_unavailable(response: httpx.Response, call: Call) -> None:
    assert response.status_code == 503, (call.name, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, (call.name, response.headers)
    assert int(response.headers["retry-after"]) > 0, (call.name, response.headers)
    problem = response.json()
    assert problem["type"] == "urn:mc2cm:problem:service-unavailable", (call.name, problem)
    assert problem["status"] == 503, (call.name, problem)


def assert_served(response: httpx.Response, call: Call) -> None:
    assert response.status_code in {200, 201}, (call.name, response.status_code, response.text)


async def readiness(platform: Platform) -> list[tuple[httpx.Response, float]]:
    results = []
    for api in (platform.profiles, platform.dialogue):
        started = time.monotonic()
        response = await api.get("/readyz")
        results.append((response, time.monotonic() - started))
    return results


@pytest.mark.parametrize("shutdown", ["immediate", "fast"])
async def test_requests_answer_503_problems_while_postgresql_is_stopped_and_succeed_once_it_returns(
    platform: Platform, postgres: PostgresServer, shutdown: str
) -> None:
    for call in CALLS:  # every API has pooled connections to lose
        assert_served((await call.send(platform))[0], call)

    postgres.stop(shutdown)
    # Twice each: first with the pool's connections broken, then with none left to lend.
    waits = []
    for _ in range(2):
        for call in CALLS:
            response, elapsed = await call.send(platform)
            assert_unavailable(response, call)
            waits.append(elapsed)
    assert max(waits) < CONNECT_TIMEOUT_SECONDS + MARGIN_SECONDS, waits
    ready_waits = []
    for response, elapsed in await readiness(platform):
        ready_waits.append(elapsed)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, response.headers
        assert response.json()["checks"]["redis"] == "ok", response.json()
        assert response.json()["checks"]["postgresql"].startswith("down"), response.json()
        assert elapsed < READY_TIMEOUT_SECONDS + MARGIN_SECONDS, elapsed

    postgres.start()
    back = time.monotonic()
    for call in CALLS:  # the first attempt of each succeeds: no retry, no restart
        assert_served((await call.send(platform))[0], call)
    recovered = time.monotonic() - back
    for response, _ in await readiness(platform):
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"postgresql": "ok", "redis": "ok"}
    log.info(
        "%s shutdown: 503 within %.3f s (/readyz %.3f s); served again %.3f s after the restart",
        shutdown,
        max(waits),
        max(ready_waits),
        recovered,
    )


async def test_readiness_names_redis_while_it_is_down_and_the_apis_keep_serving(
    postgres: PostgresServer, seeded: str, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        async with platform_on(postgres, redis.url) as platform:
            for response, _ in await readiness(platform):
                assert response.status_code == 200, response.text

            redis.stop()
            for call in CALLS:
                assert_served((await call.send(platform))[0], call)
            for response, elapsed in await readiness(platform):
                assert response.status_code == 503, response.text
                checks = response.json()["checks"]
                assert checks["postgresql"] == "ok", checks
                assert checks["redis"].startswith("down"), checks
                assert elapsed < READY_TIMEOUT_SECONDS + MARGIN_SECONDS, elapsed

            redis.start()
            for response, _ in await readiness(platform):
                assert response.status_code == 200, response.text
    finally:
        redis.stop()


async def test_requests_answer_503_within_the_limits_while_postgresql_does_not_answer(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> None:
    async with platform_on(postgres, server_urls[1], db_connect_timeout_seconds=1) as platform:
        for call in CALLS:
            assert_served((await call.send(platform))[0], call)

        postgres.freeze()  # connections stay open, and nothing answers on them
        try:
            waits = []
            for call in CALLS:
                response, elapsed = await call.send(platform)
                assert_unavailable(response, call)
                waits.append(elapsed)
            # The pooled connection's test (1 s), then a new connection's attempt (1 s).
            assert max(waits) < 2 * 1 + MARGIN_SECONDS, waits
            for response, elapsed in await readiness(platform):
                assert response.json()["checks"]["postgresql"].startswith("down"), response.text
                assert elapsed < READY_TIMEOUT_SECONDS + MARGIN_SECONDS, elapsed
        finally:
            postgres.resume()

        for call in CALLS:
            assert_served((await call.send(platform))[0], call)
        log.info("503 within %.3f s of a server that does not answer", max(waits))


async def test_readiness_probes_cut_short_by_their_limit_leave_the_pool_whole(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> None:
    # The connect limit is longer than the probe's, so each probe is cancelled mid-connect;
    # with a pool of one, a connection lost by a cancelled probe would starve the app.
    async with platform_on(
        postgres,
        server_urls[1],
        db_connect_timeout_seconds=READY_TIMEOUT_SECONDS * 3,
        db_pool_size=1,
        db_max_overflow=0,
    ) as platform:
        assert_served((await CALLS[0].send(platform))[0], CALLS[0])
        postgres.freeze()
        try:
            for _ in range(2):
                started = time.monotonic()
                response = await platform.profiles.get("/readyz")
                elapsed = time.monotonic() - started
                checks = response.json()["checks"]
                assert checks["postgresql"] == "down: TimeoutError", checks
                assert elapsed < READY_TIMEOUT_SECONDS + MARGIN_SECONDS, elapsed
        finally:
            postgres.resume()

        ready = await platform.profiles.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert_served((await CALLS[0].send(platform))[0], CALLS[0])


async def test_requests_answer_503_when_no_connection_of_the_pool_comes_free(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> None:
    async with platform_on(postgres, server_urls[1], db_pool_size=1, db_max_overflow=0) as platform:
        call = CALLS[0]
        database: Database = platform_app(platform, "profiles").state.database
        async with database.engine.connect():  # the pool's only connection, held
            response, elapsed = await call.send(platform)
        assert_unavailable(response, call)
        assert "busy" in response.json()["detail"], response.json()
        assert CONNECT_TIMEOUT_SECONDS <= elapsed < CONNECT_TIMEOUT_SECONDS + MARGIN_SECONDS

        assert_served((await call.send(platform))[0], call)


async def test_requests_answer_503_while_postgresql_has_no_connection_slot_left(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> None:
    async with platform_on(postgres, server_urls[1]) as platform:
        others: list[asyncpg.Connection] = []
        try:
            while len(others) < 100:  # other clients take every slot of the server
                try:
                    others.append(await asyncpg.connect(postgres.url))
                except asyncpg.TooManyConnectionsError:
                    break
            for call in CALLS:
                response, elapsed = await call.send(platform)
                assert_unavailable(response, call)
                assert elapsed < CONNECT_TIMEOUT_SECONDS + MARGIN_SECONDS, (call.name, elapsed)
        finally:
            for other in others:
                await other.close()

        for call in CALLS:
            assert_served((await call.send(platform))[0], call)


async def test_a_write_in_flight_when_postgresql_dies_answers_503_and_leaves_nothing_behind(
    platform: Platform, postgres: PostgresServer
) -> None:
    city = fresh_city()
    blocker = await asyncpg.connect(postgres.url)
    try:
        # Inserts wait for this lock: the write is mid-transaction when the server dies.
        await blocker.execute("BEGIN; LOCK TABLE profiles.city IN EXCLUSIVE MODE")
        write = asyncio.create_task(
            platform.profiles.post("/v1/cities", role=Role.admin, json=city)
        )
        await wait_for_lock_waiter(blocker, write)
        postgres.stop()
    finally:
        blocker.terminate()
    response = await asyncio.wait_for(write, timeout=10)
    assert_unavailable(response, CALLS[1])

    postgres.start()
    missing = await platform.profiles.get(f"/v1/cities/{city['code']}")
    assert missing.status_code == 404, missing.text
    checker = await asyncpg.connect(postgres.url)
    try:
        announced = await checker.fetchval(
            "SELECT count(*) FROM profiles.outbox WHERE envelope::text LIKE $1",
            f"%{city['code']}%",
        )
    finally:
        await checker.close()
    assert announced == 0, announced
    # The same write, sent again, is stored whole.
    again = await platform.profiles.post("/v1/cities", role=Role.admin, json=city)
    assert again.status_code == 201, again.text


async def wait_for_lock_waiter(connection: asyncpg.Connection, write: asyncio.Task[Any]) -> None:
    """Return once another session waits for a lock (``pg_locks``: ``pg_stat_activity``
    would show ``connection``'s transaction the same snapshot throughout)."""
    for _ in range(500):
        assert not write.done(), write.result().text
        if await connection.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the write never waited for the lock")


async def test_errors_of_the_request_itself_are_not_reported_as_an_unavailable_database(
    postgres: PostgresServer, seeded: str, server_urls: tuple[str, str]
) -> None:
    async with platform_on(postgres, server_urls[1]) as platform:
        database: Database = platform_app(platform, "profiles").state.database
        errors: dict[str, DBAPIError] = {}
        async with database.engine.connect() as connection:
            for name, statement, parameters in [
                # A defect of the code: a table that does not exist.
                ("defect", "SELECT * FROM profiles.no_such_table", {}),
                # A value the driver cannot send for its parameter.
                ("value", "SELECT CAST(:n AS integer) + 1", {"n": "one"}),
                ("constraint", "INSERT INTO profiles.city (code) VALUES ('PTLIS')", {}),
            ]:
                with pytest.raises(DBAPIError) as raised:
                    await connection.execute(text(statement), parameters)
                errors[name] = raised.value
                await connection.rollback()

    assert not any(database_unavailable(error) for error in errors.values()), errors
    statuses = {
        name: getattr(database_problem(error), "status", 500) for name, error in errors.items()
    }
    assert statuses == {"defect": 500, "value": 422, "constraint": 409}, errors


def platform_app(platform: Platform, name: str) -> FastAPI:
    api: Api = getattr(platform, name)
    transport = api.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, FastAPI)
    return app
