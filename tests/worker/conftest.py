"""Fixtures of the worker's tests: a committed, seeded database of the module's own
(``seeded_database``, tests/conftest.py), both APIs writing to it for real, and the worker
(relay, jobs, cron) running in-process.

Each test gets its own arq queue, so a worker of one test never takes another's jobs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from services.worker.app import run_worker
from shared.db import Database
from shared.settings import Settings
from tests.conftest import make_settings
from tests.factories import Api
from tests.worker.notifying import quieten
from tests.worker.receivers import SmtpSink

#: Settings that make the worker's timers short enough for tests.
FAST: dict[str, Any] = {
    "outbox_sweep_seconds": 0.5,
    "aggregation_debounce_seconds": 0.3,
    "event_change_debounce_seconds": 0.3,
    "delivery_retry_base_seconds": 0.2,
    "job_timeout_seconds": 10,
}


@dataclass
class Platform:
    """Both APIs on a committed database, and a way to run the worker beside them."""

    settings: Settings
    profiles: Api
    dialogue: Api

    @asynccontextmanager
    async def worker(self, **overrides: Any) -> AsyncIterator[Settings]:
        """The worker running in-process until the block ends; the settings it runs with."""
        settings = self.settings.model_copy(update=overrides)
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings, stop))
        try:
            yield settings
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


@asynccontextmanager
async def open_platform(settings: Settings) -> AsyncIterator[Platform]:
    """Both APIs of ``settings`` with their lifespans running, and HTTP clients of them."""
    profiles_app = create_profiles_app(settings)
    dialogue_app = create_dialogue_app(settings)
    async with (
        profiles_app.router.lifespan_context(profiles_app),
        dialogue_app.router.lifespan_context(dialogue_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=profiles_app, raise_app_exceptions=False),
            base_url="http://profiles.test",
        ) as profiles_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=dialogue_app, raise_app_exceptions=False),
            base_url="http://dialogue.test",
        ) as dialogue_client,
    ):
        yield Platform(settings, Api(profiles_client, settings), Api(dialogue_client, settings))


def platform_settings(database_url: str, redis_url: str, **overrides: Any) -> Settings:
    """Settings of a test's platform: its own arq queue, the worker's timers short, webhooks
    allowed to this host's receivers."""
    run = f"test-{uuid.uuid4().hex[:10]}"
    values = {
        "queue_name": run,
        # Rate limits on, in keys of this platform's own and too generous to trip: the
        # outage test's writes go through the limiter while Redis is down.
        "rate_limit_enabled": True,
        "rate_limit_key_prefix": f"{run}:rate-limit",
        "rate_limit_writes": "100000/minute",
        "rate_limit_imports": "100000/minute",
        # The test receivers listen on this host.
        "webhook_allow_private_networks": True,
        **FAST,
        **overrides,
    }
    return make_settings(database_url, redis_url, **values)


@pytest.fixture
async def platform(seeded_database: str, server_urls: tuple[str, str]) -> AsyncIterator[Platform]:
    async with open_platform(platform_settings(seeded_database, server_urls[1])) as opened:
        yield opened


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """An SMTP server keeping every mail it takes, for the test."""
    with SmtpSink() as server:
        yield server


@pytest.fixture
async def quiet(platform: Platform, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """Nothing of an earlier test of the module left to the worker; the database, for the
    test's own reads and writes."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    database = Database.from_settings(platform.settings, application_name=name)
    await quieten(database)
    try:
        yield database
    finally:
        await database.dispose()
