"""Test fixtures: real PostgreSQL and Redis, a fresh database per run, one transaction per test.

The servers are those of ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` when set, otherwise the
embedded ones. Each run builds a database by running the migrations and loading the demo data
once, copies it for the run and for modules that need a database of their own, and drops them
all at the end. Each test runs inside a transaction that is rolled back; the app's own session
dependency commits to a savepoint inside it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.cli.runtime import migrate_all, unit_of_work
from services.cli.seeding import seed_all
from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app
from shared.auth import Role, issue_token
from shared.db import Database
from shared.embedded import start_embedded_stack
from shared.settings import Environment, Settings, to_libpq_url
from tests.factories import Api
from tests.fuzz import examples as fuzz_examples

warnings.filterwarnings("ignore", module="platformdirs")
TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    """URLs of the PostgreSQL server and Redis the run uses."""
    database = os.environ.get("TEST_DATABASE_URL")
    redis = os.environ.get("TEST_REDIS_URL")
    stack = None
    if not database or not redis:
        # Throwaway: the run's data goes with it, so commits need not reach the disk. Not
        # under pytest's temporary directory: every pytest started on the machine resets
        # that one to its owner only, cutting off a PostgreSQL running as another user
        # (pgserver's, when started by root).
        stack = start_embedded_stack(
            Path(tempfile.mkdtemp(prefix="mc2cm-test-stack-")),
            postgres=not database,
            redis=not redis,
            throwaway=True,
        )
    redis_url = redis or stack.redis_url  # type: ignore[union-attr]
    yield database or stack.database_url, own_redis_database(redis_url)  # type: ignore[union-attr]
    if stack is not None:
        stack.close()


def own_redis_database(url: str) -> str:
    """``url`` moved to a Redis database of this test process's own (pytest-xdist's ``gwN``
    takes the N-th after the URL's): a test that drops the queue's keys, as a Redis restarted
    without its data would, must not lose another process's jobs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = int(worker.removeprefix("gw") or 0)
    parts = urlsplit(url)
    if parts.scheme == "unix":  # the embedded Redis: the database is a query parameter
        query = dict(parse_qsl(parts.query))
        query["db"] = str((int(query.get("db", 0)) + offset) % 16)
        return f"unix://{parts.path}?{urlencode(query)}"
    database = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(database + offset) % 16}"))


#: A copy of a template holds the template's events under the template's ids. The worker
#: enqueues an event as the job of that id, and arq keeps a job's key in Redis after it ran,
#: so a second copy's event of the same id would never be enqueued in the run's one Redis:
#: each copy gives its events new ids, as seeding it afresh would have.
RENEW_EVENT_IDS = """
WITH renewed AS (SELECT position, gen_random_uuid() AS id FROM {schema}.outbox)
UPDATE {schema}.outbox AS event
SET id = renewed.id, envelope = jsonb_set(event.envelope, '{{id}}', to_jsonb(renewed.id::text))
FROM renewed WHERE event.position = renewed.position
"""


async def create_database(server_url: str, prefix: str, *, template: str | None = None) -> str:
    """A new database on the server, empty or a copy of the database at URL ``template``
    (which nobody may be connected to, and whose events the copy gets under new ids); its
    URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    copy_of = f' TEMPLATE "{make_url(template).database}"' if template else ""
    connection = await asyncpg.connect(to_libpq_url(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    finally:
        await connection.close()
    url = make_url(to_libpq_url(server_url)).set(database=name).render_as_string(False)
    if template:
        copy = await asyncpg.connect(url)
        try:
            schemas = await copy.fetch(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
            )
            for row in schemas:
                await copy.execute(RENEW_EVENT_IDS.format(schema=row["table_schema"]))
        finally:
            await copy.close()
    return url


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        to_libpq_url(url.set(database="postgres").render_as_string(False))
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def migrated_template(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """A database the migrations built once for the run; dropped at the end.

    Databases of modules of their own are copies of it (``CREATE DATABASE ... TEMPLATE``),
    several times faster than running the migrations again. No test connects to it:
    PostgreSQL copies only a database nobody is connected to."""
    url = await create_database(server_urls[0], "mc2cm_template")
    try:
        await migrate_all(url)
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(scope="session")
async def seeded_template(
    migrated_template: str, server_urls: tuple[str, str]
) -> AsyncIterator[str]:
    """The migrated template with the demo data loaded, for databases that start with it."""
    url = await create_database(server_urls[0], "mc2cm_template_seeded", template=migrated_template)
    try:
        async with unit_of_work(make_settings(url, server_urls[1]), name="test-seed") as session:
            await seed_all(session)
            # The seed takes the demo assessments through their review, each step announced
            # (`make dev`'s worker mails the demo focal points and fills the dialogue's
            # assessment_ref). For the tests' worker those steps are history: handled.
            await session.execute(
                text(
                    "UPDATE profiles.outbox SET relayed_at = now(), handled_at = now() "
                    "WHERE type LIKE 'assessment.%'"
                )
            )
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(scope="session")
async def database_url(seeded_template: str, server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """This run's database: migrated, with the demo data loaded; dropped at the end."""
    url = await create_database(server_urls[0], "mc2cm_test", template=seeded_template)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(scope="module")
async def seeded_database(server_urls: tuple[str, str], seeded_template: str) -> AsyncIterator[str]:
    """A database of the test module's own, migrated and with the demo data, for writers that
    must commit (the worker, races between real transactions); its URL, dropped after the
    module. A copy of the run's seeded template: the one way a test gets a seeded database."""
    url = await create_database(server_urls[0], "mc2cm_test_seeded", template=seeded_template)
    try:
        yield url
    finally:
        await drop_database(url)


def make_settings(database_url: str, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.test,
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_secret": TEST_SECRET,
        # The suite shares one Redis with parallel runs and every request comes from one
        # address: rate limits would trip. tests/shared/test_rate_limits.py turns them on.
        "rate_limit_enabled": False,
        # No worker operations server unless a test asks for one on a free port: parallel
        # runs on the machine would fight over the default port.
        "metrics_port": 0,
        # A read of a PDF not rendered yet answers 202 almost at once (most tests run no
        # worker); the tests that run one ask again on 202, as a client does.
        "report_wait_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str, server_urls: tuple[str, str]) -> Settings:
    return make_settings(database_url, server_urls[1])


@pytest.fixture(scope="session")
async def profiles_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The profiles app with its lifespan running (engine and Redis open)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def dialogue_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The dialogue app with its lifespan running (engine and Redis open)."""
    app = create_dialogue_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def connection(profiles_app: FastAPI) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction rolled back after the test."""
    database: Database = profiles_app.state.database
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def session(
    profiles_app: FastAPI, connection: AsyncConnection
) -> AsyncIterator[AsyncSession]:
    """A session for the test itself, inside the test's transaction (one of the app's
    database's: what it flushes is audited)."""
    database: Database = profiles_app.state.database
    sessions = database.sessions(connection, join_transaction_mode="create_savepoint")
    async with sessions() as session:
        yield session


@asynccontextmanager
async def client_in_transaction(
    app: FastAPI,
    connection: AsyncConnection,
    settings: Settings,
    base_url: str,
    *,
    client: tuple[str, int] = ("127.0.0.1", 123),
) -> AsyncIterator[Api]:
    """An HTTP client of ``app`` whose requests run inside the test's transaction; ``client``
    is the caller's address the app sees."""
    database: Database = app.state.database
    original, original_read = database.sessionmaker, database.read_sessionmaker
    database.sessionmaker = database.sessions(connection, join_transaction_mode="create_savepoint")
    # Reads without a transaction of their own run in the test's too.
    database.read_sessionmaker = database.sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Api(client, settings)
    finally:
        database.sessionmaker, database.read_sessionmaker = original, original_read


@pytest.fixture
async def api(
    profiles_app: FastAPI, connection: AsyncConnection, settings: Settings
) -> AsyncIterator[Api]:
    """An HTTP client of the profiles app whose requests run inside the test's transaction."""
    async with client_in_transaction(
        profiles_app, connection, settings, "http://profiles.test"
    ) as client:
        yield client


@pytest.fixture
async def dialogue(
    dialogue_app: FastAPI, connection: AsyncConnection, settings: Settings
) -> AsyncIterator[Api]:
    """An HTTP client of the dialogue app whose requests run inside the test's transaction."""
    async with client_in_transaction(
        dialogue_app, connection, settings, "http://dialogue.test"
    ) as client:
        yield client


def token_for(settings: Settings, role: Role, cities: tuple[str, ...] = ()) -> str:
    return issue_token(settings, subject=f"{role.value}@test", role=role, cities=cities)


@pytest.fixture(scope="module")
async def own_database(
    server_urls: tuple[str, str], migrated_template: str
) -> AsyncIterator[Database]:
    """An empty migrated database of the test module's own, for writers that must commit
    (races between real transactions); dropped after the module."""
    url = await create_database(server_urls[0], "mc2cm_test_own", template=migrated_template)
    try:
        database = Database.from_settings(
            make_settings(url, server_urls[1]), application_name="test-own"
        )
        try:
            yield database
        finally:
            await database.dispose()
    finally:
        await drop_database(url)


# The fuzz run's count of examples, also across pytest-xdist workers (``tests/fuzz/examples.py``).
def pytest_sessionfinish(session: pytest.Session) -> None:
    fuzz_examples.hand_over(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    fuzz_examples.take_over(getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    fuzz_examples.summarise(terminalreporter)
