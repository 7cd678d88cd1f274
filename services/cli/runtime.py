"""What commands share: settings, a committed unit of work, the list of services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.migrations import SchemaRevision, schema_revision, upgrade
from shared.observability import configure_logging
from shared.settings import Settings, load_settings, to_libpq_url

#: Services with a schema of their own, in the order their migrations run.
MIGRATED_SERVICES = ("profiles", "dialogue")
#: Key of the session advisory lock that lets one ``mc2cm migrate`` at a time migrate a
#: database (a Job retried while its first pod still runs, two releases applied at once).
MIGRATION_LOCK_KEY = 0x6D63_326D

log = logging.getLogger(__name__)


@asynccontextmanager
async def unit_of_work(settings: Settings, *, name: str) -> AsyncIterator[AsyncSession]:
    """A session committed when the block ends without error, as a request's is."""
    database = Database.from_settings(settings, application_name=f"mc2cm-{name}")
    try:
        async with database.sessionmaker() as session, session.begin():
            yield session
    finally:
        await database.dispose()


class DatabaseUnreachable(Exception):
    """PostgreSQL did not accept a connection within the time given to it."""


#: How a server that does not accept connections yet fails them: refused or timed out (not
#: started, or listening only on its socket while ``initdb`` runs), a name not resolvable
#: yet (``OSError``), or "the database system is starting up" / "is shutting down".
NOT_READY = (OSError, asyncpg.CannotConnectNowError)
#: While PostgreSQL does not answer, ``mc2cm migrate`` says so again this often.
NOT_READY_REPORT_SECONDS = 10.0


def _not_ready(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it: SQLAlchemy wraps asyncpg's) is ``NOT_READY``."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, NOT_READY):
            return True
        cause = cause.__cause__
    return False


def _server(database_url: str) -> str:
    """``host:port/database`` of a URL, without its credentials, for messages."""
    url = make_url(to_libpq_url(database_url))
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


async def connect_when_ready(
    database_url: str, timeout: float, *, poll: float = 1.0
) -> asyncpg.Connection:
    """A connection to PostgreSQL; while the server does not accept connections yet, tried
    again every ``poll`` seconds for up to ``timeout`` seconds, then ``DatabaseUnreachable``.
    Other errors (a wrong password, a database that does not exist) fail at once."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reported = -NOT_READY_REPORT_SECONDS
    while True:
        remaining = started + timeout - loop.time()
        try:
            return await asyncpg.connect(
                to_libpq_url(database_url), timeout=min(max(remaining, 1.0), 10.0)
            )
        except NOT_READY as error:
            waited = loop.time() - started
            reason = str(error) or type(error).__name__
            if waited >= timeout:
                raise DatabaseUnreachable(
                    f"PostgreSQL at {_server(database_url)} did not accept a connection within "
                    f"{timeout:g} s: {reason}"
                ) from error
            if waited - reported >= NOT_READY_REPORT_SECONDS:
                reported = waited
                log.warning(
                    "PostgreSQL at %s does not accept connections yet (%s); trying again "
                    "for up to %.0f s more",
                    _server(database_url),
                    reason,
                    timeout - waited,
                )
            await asyncio.sleep(min(poll, timeout - waited))


def _warn_ahead(revision: SchemaRevision) -> None:
    log.warning(
        "schema %s is at revision %s, which this release does not know: a newer release "
        "migrated it. Taken as up to date; nothing is applied to it",
        revision.service,
        ", ".join(sorted(revision.unknown)),
    )


async def migrate_all(database_url: str, *, connect_timeout: float = 0) -> None:
    """Apply every service's migrations, one migrating process at a time per database.

    The first connection is tried again for up to ``connect_timeout`` seconds while the
    server does not accept connections yet. A schema a newer release migrated is left as
    it is (with a warning): a rolled-back release runs on the newer schema.
    """
    lock = await connect_when_ready(database_url, connect_timeout)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        for service in MIGRATED_SERVICES:
            revision = await schema_revision(database_url, service)
            if revision.ahead:
                _warn_ahead(revision)
                continue
            await upgrade(database_url, service)
    finally:
        await lock.close()  # the lock goes with the connection


async def _schemas_behind(database_url: str) -> tuple[list[str], str | None]:
    """The services whose schema lacks some of this release's migrations, and why PostgreSQL
    did not answer (then all of them are counted behind)."""
    try:
        revisions = [await schema_revision(database_url, name) for name in MIGRATED_SERVICES]
    except Exception as error:
        if not _not_ready(error):
            raise
        return list(MIGRATED_SERVICES), str(error) or type(error).__name__
    for revision in revisions:
        if revision.ahead:
            _warn_ahead(revision)
    return [revision.service for revision in revisions if revision.behind], None


async def schemas_behind(database_url: str) -> list[str]:
    """The services whose schema lacks some of this release's migrations (all of them while
    the database does not accept connections). A schema a newer release migrated is not
    behind; a warning names its revision."""
    behind, _ = await _schemas_behind(database_url)
    return behind


async def wait_for_migrations(database_url: str, timeout: float, *, poll: float = 2.0) -> list[str]:
    """Wait until no schema lacks this release's migrations, applying nothing; the services
    still behind when ``timeout`` seconds have passed (empty when all are up to date)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    reported = -NOT_READY_REPORT_SECONDS
    while True:
        behind, unreachable = await _schemas_behind(database_url)
        waited = loop.time() - started
        if not behind or waited >= timeout:
            return behind
        if waited - reported >= NOT_READY_REPORT_SECONDS:
            reported = waited
            log.info(
                "waiting up to %.0f s more for the migrations of %s: %s",
                timeout - waited,
                ", ".join(behind),
                f"PostgreSQL at {_server(database_url)} does not answer yet ({unreachable})"
                if unreachable
                else "not applied yet",
            )
        await asyncio.sleep(min(poll, timeout - waited))


def profiles_app() -> FastAPI:
    """The uvicorn factory of ``mc2cm serve profiles``: settings from the environment."""
    from services.profiles_api.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format)
    return create_app(settings)


def dialogue_app() -> FastAPI:
    """The uvicorn factory of ``mc2cm serve dialogue``: settings from the environment."""
    from services.dialogue_api.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format)
    return create_app(settings)
