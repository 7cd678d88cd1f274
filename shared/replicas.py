"""Reads from hot standbys, with read-your-writes (``MC2CM_DATABASE_READ_URLS``).

With replicas configured, an API's ``GET`` and ``HEAD`` run on one of them, in turn; every other
method, and the worker, run on the primary (``MC2CM_DATABASE_URL``). A standby replays the
primary's WAL a little later than it was written, so:

- every successful write answers ``Consistency-Token``: the primary's WAL insert position once
  its transaction committed (a position the standby has replayed shows that commit);
- a read that sends the token back is served by a replica only once that replica has replayed
  that position, waited for at most ``db_replica_wait_ms`` (250 ms); past that, by the primary.
  Without a token a read may be as stale as the replica's lag;
- a read that sends a token is ``private`` to the caller, and every read says
  ``Vary: Consistency-Token`` (``shared.caching``), so a shared cache never answers it with a
  copy it stored for someone else.

A replica that fails (refuses connections, is shut down, or is not a standby) is marked down
and its reads go to the primary until a check finds it up again; a read that failed on a
replica before its response began is run again on the primary, so callers see no error.
``/readyz`` stays 200 then, ``degraded``, naming the replica (``shared.readiness``). Each
replica's lag and state are Prometheus gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, urlsplit

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import BadRequest, field_error, render_problem

if TYPE_CHECKING:
    from shared.db import Database

log = logging.getLogger(__name__)

#: The header a write answers with and a read sends back.
CONSISTENCY_HEADER: Final = "Consistency-Token"
#: A WAL position as PostgreSQL writes it: two hexadecimal halves of 32 bits.
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
#: Where a request's token (the position it waits for) is kept in its ASGI scope.
TOKEN_SCOPE_KEY: Final = "mc2cm.consistency_lsn"
#: Where a read's chosen replica (or ``PRIMARY``) is kept, once chosen.
TARGET_SCOPE_KEY: Final = "mc2cm.read_target"
#: Set when a database error happened on a replica: the read is run again on the primary.
FAILED_SCOPE_KEY: Final = "mc2cm.replica_failed"
#: A target of ``TARGET_SCOPE_KEY``: the primary.
PRIMARY: Final = "primary"
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: The methods whose success answers a token.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Between two looks at a replica's replay position while a read waits for it: the first
#: wait, doubled after each look up to the longest (about eight looks in 250 ms, so a token
#: nobody's write reached, sent on purpose, costs a replica a few queries, not fifty).
_POLL_SECONDS = 0.005
_POLL_LONGEST_SECONDS = 0.05
#: A check of a replica, or a look at its position, answers within this or it is down.
_CHECK_TIMEOUT_SECONDS = 2.0


def parse_lsn(value: str) -> int:
    """``"0/16B3748"`` → its byte position; ``ValueError`` for anything else."""
    match = _LSN.match(value)
    if match is None:
        raise ValueError(value)
    return (int(match[1], 16) << 32) | int(match[2], 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def replica_name(url: str) -> str:
    """How a replica is named in metrics, logs and ``/readyz``: host, port and database of its
    URL, never its credentials (a socket directory given as ``?host=`` stands for the host)."""
    parts = urlsplit(url)
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0] or "localhost"
    port = parts.port or 5432
    return f"{host}:{port}{parts.path or ''}"


class ReplicaMetrics:
    """The replicas' gauges and where reads went, in an app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "mc2cm_db_replica_up",
            "1 while the replica answers and replays the primary's WAL, 0 while its reads "
            "go to the primary.",
            ["replica"],
            registry=registry,
        )
        self.lag_seconds = Gauge(
            "mc2cm_db_replica_lag_seconds",
            "How far behind the primary the replica is: 0 when it has replayed everything "
            "the primary had written at the last check, else the age of the last transaction "
            "it replayed.",
            ["replica"],
            registry=registry,
        )
        self.lag_bytes = Gauge(
            "mc2cm_db_replica_lag_bytes",
            "WAL the primary had written at the last check that the replica had not replayed.",
            ["replica"],
            registry=registry,
        )
        self.reads = Counter(
            "mc2cm_db_reads",
            "Reads (GET and HEAD with a database session) by the database that served them.",
            ["database"],
            registry=registry,
        )
        self.fresh_reads = Counter(
            "mc2cm_db_consistency_fallbacks",
            "Reads with a Consistency-Token sent to the primary because no replica had "
            "replayed the write in time.",
            registry=registry,
        )


@dataclass(eq=False)
class Replica:
    """One hot standby: its engine, its sessions and what the last check found."""

    name: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    up: bool = True
    problem: str | None = None
    #: The WAL position it had replayed at the last look (0: not looked yet).
    replayed: int = 0

    async def replay_position(self) -> int:
        """The WAL position it has replayed; ``LookupError`` when it is not a standby."""
        async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
            async with self.engine.connect() as connection:
                position = (
                    await connection.execute(text("SELECT pg_last_wal_replay_lsn()::text"))
                ).scalar_one()
        if position is None:
            raise LookupError("not a standby (pg_last_wal_replay_lsn() is null)")
        self.replayed = max(self.replayed, parse_lsn(position))
        return self.replayed


@dataclass(eq=False)
class ReplicaSet:
    """The replicas of a ``Database``, which of them are up, and the choice of one per read."""

    replicas: Sequence[Replica]
    metrics: ReplicaMetrics | None
    wait_seconds: float
    check_seconds: float
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        for replica in self.replicas:
            self._report(replica)

    async def choose(self, position: int | None) -> Replica | None:
        """A replica that is up and, with a token, has replayed ``position``; ``None`` for the
        primary. Replicas take reads in turn."""
        up = [replica for replica in self.replicas if replica.up]
        if not up:
            return None
        replica = up[next(self._turn) % len(up)]
        if position is None or replica.replayed >= position:
            return replica
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        pause = _POLL_SECONDS
        while True:
            try:
                if await replica.replay_position() >= position:
                    return replica
            except Exception as error:  # whatever stops it answering makes it down
                self.mark_down(replica, error)
                return None
            remaining = deadline - loop.time()
            if remaining <= 0:
                if self.metrics is not None:
                    self.metrics.fresh_reads.inc()
                return None
            await asyncio.sleep(min(pause, remaining))
            pause = min(2 * pause, _POLL_LONGEST_SECONDS)

    def mark_down(self, replica: Replica, error: BaseException | str) -> None:
        problem = error if isinstance(error, str) else f"{type(error).__name__}"
        if replica.up:
            log.warning(
                "replica %s is down (%s): its reads go to the primary",
                replica.name,
                error,
                extra={"replica": replica.name},
            )
        replica.up, replica.problem = False, problem
        self._report(replica)

    def _mark_up(self, replica: Replica) -> None:
        if not replica.up:
            log.info("replica %s is up again", replica.name, extra={"replica": replica.name})
        replica.up, replica.problem = True, None
        self._report(replica)

    def _report(self, replica: Replica) -> None:
        if self.metrics is not None:
            self.metrics.up.labels(replica.name).set(1 if replica.up else 0)

    async def check(self, primary: AsyncEngine) -> None:
        """Look at every replica once: up or down, and how far behind the primary."""
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                async with primary.connect() as connection:
                    written = parse_lsn(
                        (
                            await connection.execute(text("SELECT pg_current_wal_lsn()::text"))
                        ).scalar_one()
                    )
        except Exception:  # the primary's own readiness reports it; replicas are looked at anyway
            written = None
        await asyncio.gather(*(self._check_one(replica, written) for replica in self.replicas))

    async def _check_one(self, replica: Replica, written: int | None) -> None:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                async with replica.engine.connect() as connection:
                    row = (
                        await connection.execute(
                            text(
                                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                                "extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
                            )
                        )
                    ).one()
        except Exception as error:  # a check reports every failure, whatever it is
            self.mark_down(replica, error)
            return
        in_recovery, position, age = row
        if not in_recovery or position is None:
            self.mark_down(replica, "not a standby")
            return
        replica.replayed = max(replica.replayed, parse_lsn(position))
        self._mark_up(replica)
        if self.metrics is None or written is None:
            return
        behind = max(0, written - replica.replayed)
        self.metrics.lag_bytes.labels(replica.name).set(behind)
        self.metrics.lag_seconds.labels(replica.name).set(
            0 if behind == 0 or age is None else max(0.0, float(age))
        )

    async def monitor(self, primary: AsyncEngine) -> None:
        """Check the replicas every ``check_seconds`` until cancelled."""
        while True:
            await self.check(primary)
            await asyncio.sleep(self.check_seconds)

    @contextlib.asynccontextmanager
    async def monitoring(self, primary: AsyncEngine) -> AsyncIterator[None]:
        """The checks running in the background while the block runs (an app's lifespan)."""
        await self.check(primary)
        task = asyncio.create_task(self.monitor(primary), name="replica-checks")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def count_read(self, replica: Replica | None) -> None:
        if self.metrics is not None:
            self.metrics.reads.labels(PRIMARY if replica is None else replica.name).inc()

    async def dispose(self) -> None:
        await asyncio.gather(*(replica.engine.dispose() for replica in self.replicas))


def _replica_failure(error: BaseException) -> bool:
    """Whether ``error`` says the replica's connection failed (rather than the statement)."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig if error.orig is not None else error
        cause = getattr(error, "__cause__", None)
        if isinstance(cause, BaseException):
            error = cause
    return isinstance(
        error,
        OSError
        | InvalidatePoolError
        | asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.CannotConnectNowError
        | asyncpg.AdminShutdownError
        | asyncpg.ConnectionFailureError,
    )


def _database_error(error: BaseException) -> bool:
    """Whether a read that raised ``error`` on a replica is worth running on the primary: a
    database error of any kind (a connection lost, a query cancelled by the standby's
    replay, a write tried in a read-only transaction), except the statement's own time limit."""
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlstate", None) or getattr(
            getattr(error.orig, "__cause__", None), "sqlstate", None
        )
        return code != "57014"
    return _replica_failure(error)


def replica_failed(
    scope: Scope, replicas: ReplicaSet, replica: Replica, error: BaseException
) -> None:
    """Called by a session of ``replica`` that raised ``error``: the read is run again on the
    primary (``ReplicaMiddleware``) if it is a database error, and a lost connection marks the
    replica down."""
    if _replica_failure(error):
        replicas.mark_down(replica, error)
    if _database_error(error):
        scope[FAILED_SCOPE_KEY] = True


async def read_target(scope: Scope, replicas: ReplicaSet | None) -> Replica | None:
    """The replica a request reads from, or ``None`` for the primary: chosen once per
    request, for ``GET``/``HEAD`` only."""
    if replicas is None or scope.get("method") not in SAFE_METHODS:
        return None
    chosen = scope.get(TARGET_SCOPE_KEY)
    if chosen is None:
        replica = await replicas.choose(scope.get(TOKEN_SCOPE_KEY))
        replicas.count_read(replica)
        scope[TARGET_SCOPE_KEY] = PRIMARY if replica is None else replica
        return replica
    return None if chosen == PRIMARY else chosen


class ReplicaMiddleware:
    """Consistency tokens in and out, and a read that failed on a replica run again on the
    primary. ``database`` gives the app's ``Database`` (opened by its lifespan, after the
    middleware is built), or ``None`` in an app run without its lifespan (no token then)."""

    def __init__(self, app: ASGIApp, *, database: Callable[[], Database | None]) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] in SAFE_METHODS:
            await self._read(scope, receive, send)
        elif scope["method"] in WRITE_METHODS:
            await self._write(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_token(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                position = await self._primary_position()
                if position is not None:
                    headers = MutableHeaders(raw=list(message.get("headers", [])))
                    headers[CONSISTENCY_HEADER] = position
                    message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_token)

    async def _primary_position(self) -> str | None:
        database = self.database()
        if database is None:
            return None
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT_SECONDS):
                async with database.engine.connect() as connection:
                    position: str = (
                        await connection.execute(text("SELECT pg_current_wal_insert_lsn()::text"))
                    ).scalar_one()
        except Exception as error:  # the write is committed: answered, without a token
            log.warning("no consistency token for a committed write: %r", error)
            return None
        return position

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = Headers(scope=scope).get(CONSISTENCY_HEADER.lower())
        if token is not None:
            try:
                scope[TOKEN_SCOPE_KEY] = parse_lsn(token.strip())
            except ValueError:
                problem = BadRequest(
                    f"{CONSISTENCY_HEADER} must be a token a write answered, such as 0/16B3748.",
                    errors=[
                        field_error(
                            CONSISTENCY_HEADER,
                            "not a WAL position (two hexadecimal numbers around a slash)",
                            location="header",
                        )
                    ],
                )
                await render_problem(problem, instance=scope["path"])(scope, receive, send)
                return
        database = self.database()
        replicas = database.replicas if database is not None else None
        if replicas is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def send_unless_failed(message: Message) -> None:
            nonlocal started
            if not started and scope.get(FAILED_SCOPE_KEY):
                return  # the failed attempt's answer: dropped, the primary answers instead
            started = True
            await send(message)

        try:
            await self.app(scope, receive, send_unless_failed)
        except Exception:
            if started or not scope.get(FAILED_SCOPE_KEY):
                raise
        if started or not scope.get(FAILED_SCOPE_KEY):
            return
        scope[TARGET_SCOPE_KEY] = PRIMARY
        del scope[FAILED_SCOPE_KEY]
        replicas.count_read(None)
        await self.app(scope, _empty_body, send)


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
