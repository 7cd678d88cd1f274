"""What commands share: settings, a committed unit of work, the list of services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.migrations import at_head, upgrade
from shared.observability import configure_logging
from shared.settings import Settings, load_settings, to_libpq_url

#: Services with a schema of their own, in the order their migrations run.
MIGRATED_SERVICES = ("profiles", "dialogue")
#: Key of the session advisory lock that lets one ``mc2cm migrate`` at a time migrate a
#: database (a Job retried while its first pod still runs, two releases applied at once).
MIGRATION_LOCK_KEY = 0x6D63_326D


@asynccontextmanager
async def unit_of_work(settings: Settings, *, name: str) -> AsyncIterator[AsyncSession]:
    """A session committed when the block ends without error, as a request's is."""
    database = Database.from_settings(settings, application_name=f"mc2cm-{name}")
    try:
        async with database.sessionmaker() as session, session.begin():
            yield session
    finally:
        await database.dispose()


async def migrate_all(database_url: str) -> None:
    """Apply every service's migrations, one migrating process at a time per database."""
    lock = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        for service in MIGRATED_SERVICES:
            await upgrade(database_url, service)
    finally:
        await lock.close()  # the lock goes with the connection


async def schemas_behind(database_url: str) -> list[str]:
    """The services whose schema is not at its latest revision (all of them while the
    database cannot be reached)."""
    try:
        return [
            service for service in MIGRATED_SERVICES if not await at_head(database_url, service)
        ]
    except (OSError, asyncpg.PostgresError) as exc:
        logging.getLogger(__name__).info("database not reachable yet: %s", exc)
        return list(MIGRATED_SERVICES)


async def wait_for_migrations(database_url: str, timeout: float, *, poll: float = 2.0) -> list[str]:
    """Wait until every schema is at its latest revision, applying nothing; the services still
    behind when ``timeout`` seconds have passed (empty when all are up to date)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (behind := await schemas_behind(database_url)) and loop.time() < deadline:
        await asyncio.sleep(min(poll, max(deadline - loop.time(), 0)))
    return behind


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
