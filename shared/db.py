"""The async engine, the per-request session and the declarative base of each schema.

Only the request boundary commits: ``get_session`` opens a session, commits when the
handler returns and rolls back when it raises. Services and repositories flush, never commit.
What else must commit with the request's change (an ``Idempotency-Key`` claim) registers with
``on_before_commit`` and runs in the same transaction, right before the commit.

Each ``Database`` has a session class of its own, on which its listeners are registered (the
audit log's, ``shared.audit``): they never reach the sessions of another ``Database``.

An API's ``Database`` may have hot standbys (``shared.replicas``): the request's session of a
``GET`` or ``HEAD`` is then one of a replica's, chosen once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Final

import asyncpg
import orjson
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import await_

from shared.audit import audit_sessions
from shared.replicas import (
    PRIMARY,
    TARGET_SCOPE_KEY,
    Replica,
    ReplicaMetrics,
    ReplicaSet,
    read_target,
    replica_failed,
    replica_name,
)
from shared.settings import Settings, to_asyncpg_url

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """The metadata of one service's schema, with deterministic constraint names."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class Timestamped:
    """Creation and last-change times, set by the database."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Versioned:
    """A version counter for optimistic concurrency (``ETag`` / ``If-Match``).

    Services raise ``version`` by one with each change; the ORM adds ``WHERE version = <the
    version read>`` to every UPDATE and DELETE, so of two writers holding the same ETag the
    second waits for the first's commit and then fails (``Repository.flush`` turns that into
    a 412) instead of overwriting its change.
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version, "version_id_generator": False}


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(
    settings: Settings, *, application_name: str, url: str | None = None
) -> AsyncEngine:
    """An engine for the configured database, with orjson for JSONB and bounded waits.

    A request never waits on PostgreSQL without a limit: opening a connection is bounded by
    ``db_connect_timeout_seconds`` (asyncpg's ``timeout``), waiting for a free one by
    ``db_pool_timeout_seconds``, testing a pooled one before lending it by the connect
    limit again (``_ping_on_checkout``), and each statement by the server's
    ``statement_timeout``. ``url``: another server's (a replica's) than ``database_url``.
    """
    engine = create_async_engine(
        settings.async_database_url if url is None else to_asyncpg_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "server_settings": {
                "application_name": application_name,
                "statement_timeout": str(settings.db_statement_timeout_ms),
            },
        },
    )
    _ping_on_checkout(engine, timeout=settings.db_connect_timeout_seconds)
    return engine


def _ping_on_checkout(engine: AsyncEngine, *, timeout: float) -> None:
    """Test each pooled connection before lending it, waiting at most ``timeout`` seconds.

    SQLAlchemy's ``pool_pre_ping`` does the same without a limit, so a server that stopped
    answering (frozen, or its packets dropped) would hold every request forever. A connection
    that fails the test makes the pool discard every connection opened before it (the server
    restarted, or went away and came back) and open a fresh one, so the first request after
    PostgreSQL returns succeeds. A connection opened for this very checkout is not tested.
    """

    @event.listens_for(engine.sync_engine.pool, "connect")
    def _opened(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["fresh"] = True

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _ping(
        _dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if record.info.pop("fresh", False):
            return
        connection: asyncpg.Connection = record.driver_connection
        try:
            await_(asyncio.wait_for(connection.fetchrow(";"), timeout))
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as error:
            # TimeoutError is an OSError. Closed at once: the pool's own close would wait for
            # a server that may not answer. The pool then opens another connection. An
            # InternalClientError ("another operation is in progress") is a connection the
            # server dropped in the middle of a statement: no longer usable either.
            connection.terminate()
            raise InvalidatePoolError(f"pooled connection failed its test: {error!r}") from error
        except BaseException:
            # Cancelled mid-test (the caller gave up, e.g. a readiness probe's limit): what
            # the connection was doing is unknown, and closing it politely could wait as well.
            connection.terminate()
            raise


class Database:
    """An engine and its session factories, opened by an app's lifespan or a command.

    Its sessions are of a class of its own (``session_class``), which carries its listeners:
    with ``audit`` (the default), what they flush of an audited schema's models is recorded
    in that schema's log (``shared.audit``).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        audit: bool = True,
        replicas: Sequence[tuple[str, AsyncEngine]] = (),
        replica_metrics: ReplicaMetrics | None = None,
        replica_wait_seconds: float = 0.25,
        replica_check_seconds: float = 1.0,
    ) -> None:
        self.engine = engine

        class DatabaseSession(Session):
            """A session of this database, and of no other: its listeners are this one's."""

        #: The (sync) session class of this database's sessions.
        self.session_class: type[Session] = DatabaseSession
        if audit:
            audit_sessions(self.session_class)
        self.sessionmaker = self.sessions(engine)
        #: Sessions whose statements each commit on their own (no BEGIN / COMMIT round trips),
        #: on the same pool: for reads of one statement (``ReadSessionDep``).
        self.read_sessionmaker = self._read_sessions(engine)
        #: The hot standbys GETs read from, if any (``shared.replicas``).
        self.replicas: ReplicaSet | None = (
            ReplicaSet(
                [
                    Replica(name, replica, self.sessions(replica), self._read_sessions(replica))
                    for name, replica in replicas
                ],
                metrics=replica_metrics,
                wait_seconds=replica_wait_seconds,
                check_seconds=replica_check_seconds,
            )
            if replicas
            else None
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        application_name: str,
        audit: bool = True,
        replica_metrics: ReplicaMetrics | None = None,
    ) -> Database:
        """The configured database; with ``replica_metrics`` (an API's), with the replicas of
        ``database_read_urls`` too."""
        replicas = (
            [
                (
                    replica_name(url),
                    create_engine(settings, application_name=application_name, url=url),
                )
                for url in settings.database_read_urls
            ]
            if replica_metrics is not None
            else []
        )
        return cls(
            create_engine(settings, application_name=application_name),
            audit=audit,
            replicas=replicas,
            replica_metrics=replica_metrics,
            replica_wait_seconds=settings.db_replica_wait_ms / 1000,
            replica_check_seconds=settings.db_replica_check_seconds,
        )

    def _read_sessions(self, engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
        """Sessions whose statements each commit on their own (no BEGIN / COMMIT round
        trips), on ``engine``'s pool: for reads of one statement (``ReadSessionDep``)."""
        return self.sessions(engine.execution_options(isolation_level="AUTOCOMMIT"))

    def sessions(
        self, bind: AsyncEngine | AsyncConnection, **options: Any
    ) -> async_sessionmaker[AsyncSession]:
        """A factory of this database's sessions (with its listeners) on ``bind``: its
        engine, or one connection that holds locks or an outer transaction; ``options`` as
        ``async_sessionmaker``'s (``join_transaction_mode``...)."""
        options = {"expire_on_commit": False, **options}
        return async_sessionmaker(bind, sync_session_class=self.session_class, **options)

    async def dispose(self) -> None:
        if self.replicas is not None:
            await self.replicas.dispose()
        await self.engine.dispose()


#: Work that must commit with a request's change: run in its session, before the commit.
BeforeCommit = Callable[[AsyncSession], Awaitable[None]]
#: Where a request's ``BeforeCommit`` callbacks wait in its ASGI scope.
BEFORE_COMMIT_SCOPE_KEY: Final = "mc2cm.before_commit"


def on_before_commit(scope: MutableMapping[str, Any], callback: BeforeCommit) -> None:
    """Run ``callback`` in the request's transaction when ``get_session`` is about to commit
    it (after the handler returned): what it writes commits with the request's change or
    not at all, and if it raises nothing of the transaction is committed. Callable before
    the request reaches the app (from a middleware, with the request's ASGI ``scope``) or
    while it runs; callbacks run in the order they were registered, once."""
    scope.setdefault(BEFORE_COMMIT_SCOPE_KEY, []).append(callback)


async def _before_commit(scope: MutableMapping[str, Any], session: AsyncSession) -> None:
    callbacks: list[BeforeCommit] = scope.pop(BEFORE_COMMIT_SCOPE_KEY, [])
    for callback in callbacks:
        await callback(session)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, committed when the handler returns
    (after the request's ``on_before_commit`` callbacks), rolled back if either raises. A
    ``GET``'s is a replica's when there are replicas (``shared.replicas``)."""
    async with _request_transaction(request) as session:
        yield session


async def get_primary_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: ``get_session``'s, on the primary for a ``GET`` too: for a read
    that may write (one that asks the worker for something it lacks)."""
    request.scope[TARGET_SCOPE_KEY] = PRIMARY
    async with _request_transaction(request) as session:
        yield session


@asynccontextmanager
async def _request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    replica = await read_target(request.scope, database.replicas)
    sessionmaker = database.sessionmaker if replica is None else replica.sessionmaker
    async with _replica_failures(request, replica), sessionmaker() as session:
        try:
            yield session
            await _before_commit(request.scope, session)
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


@asynccontextmanager
async def _replica_failures(request: Request, replica: Replica | None) -> AsyncIterator[None]:
    """What fails in a replica's session (a statement, the commit, the rollback, closing it)
    is reported to ``shared.replicas``: the read is run again on the primary."""
    try:
        yield
    except BaseException as error:
        replicas = request.app.state.database.replicas
        if replica is not None and replicas is not None:
            replica_failed(request.scope, replicas, replica, error)
        raise


#: The request's session. ``scope="function"`` commits before the response is sent, so a
#: failed commit reaches the caller as an error rather than after a 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
#: The request's session, on the primary whatever the method (``get_primary_session``).
PrimarySessionDep = Annotated[AsyncSession, Depends(get_primary_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session that never opens a transaction, for reads that answer
    from one statement (each statement sees its own snapshot). It saves a BEGIN and a COMMIT
    round trip per request; a handler that writes, or reads what must agree across several
    statements, takes ``SessionDep``."""
    database: Database = request.app.state.database
    replica = await read_target(request.scope, database.replicas)
    sessionmaker = database.read_sessionmaker if replica is None else replica.read_sessionmaker
    async with _replica_failures(request, replica), sessionmaker() as session:
        yield session


async def request_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The sessions of the database the request reads from (its replica's, for a ``GET`` when
    there are replicas): for reads that outlive its session, such as a streamed export's."""
    database: Database = request.app.state.database
    replica = await read_target(request.scope, database.replicas)
    return database.sessionmaker if replica is None else replica.sessionmaker


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
