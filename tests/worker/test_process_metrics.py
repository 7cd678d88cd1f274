"""The process's own metrics in every registry (shared/observability.py): CPU, memory, GC and
the Python version from the standard collectors, and the database pool's gauges read at scrape
time, in an API's registry and in the worker's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.profiles_api.app import create_app
from services.worker.app import open_worker
from tests.conftest import make_settings

STANDARD = ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info")


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    scrape = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape)
        for sample in family.samples
    }


def pool(registry: CollectorRegistry, gauge: str) -> float:
    return samples(registry)[f"mc2cm_db_pool_{gauge}", (("database", "primary"),)]


@pytest.fixture
async def small_pool_app(database_url: str, server_urls: tuple[str, str]) -> AsyncIterator[FastAPI]:
    """The profiles app with a pool of one connection and no overflow."""
    app = create_app(
        make_settings(
            database_url,
            server_urls[1],
            db_pool_size=1,
            db_max_overflow=0,
            db_pool_timeout_seconds=5,
        )
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_an_api_shows_its_process_and_its_pool_with_whoever_waits_for_it(
    small_pool_app: FastAPI,
) -> None:
    registry = small_pool_app.state.metrics.registry
    names = {name for name, _ in samples(registry)}
    assert set(STANDARD) <= names, sorted(names)
    assert any(name.startswith("python_gc_") for name in names), sorted(names)
    assert (pool(registry, "size"), pool(registry, "checked_out")) == (1, 0)

    engine = small_pool_app.state.database.engine
    async with engine.connect():
        assert (pool(registry, "checked_out"), pool(registry, "waiters")) == (1, 0)

        async def second() -> None:
            async with engine.connect():
                pass

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.2)
        assert (pool(registry, "waiters"), pool(registry, "overflow")) == (1, 0)
    await waiting
    assert (pool(registry, "checked_out"), pool(registry, "waiters")) == (0, 0)


async def test_the_worker_shows_its_process_and_its_pool(
    database_url: str, server_urls: tuple[str, str]
) -> None:
    settings = make_settings(database_url, server_urls[1], db_pool_size=3)
    async with open_worker(settings) as worker:
        names = {name for name, _ in samples(worker.registry)}
        assert set(STANDARD) <= names, sorted(names)
        assert pool(worker.registry, "size") == 3
        async with worker.database.engine.connect():
            assert pool(worker.registry, "checked_out") == 1
