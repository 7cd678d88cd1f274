"""What commands share: settings, a committed unit of work, the list of services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.migrations import upgrade
from shared.observability import configure_logging
from shared.settings import Settings, load_settings

#: Services with a schema of their own, in the order their migrations run.
MIGRATED_SERVICES = ("profiles", "dialogue")


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
    """Apply every service's migrations."""
    for service in MIGRATED_SERVICES:
        await upgrade(database_url, service)


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
