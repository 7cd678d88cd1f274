"""The suite's waiting helpers: they return as soon as the condition holds and fail, with a
message, when it never does (tests/waiting.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from shared.db import Database
from shared.settings import Settings
from tests.waiting import backend_pid, eventually, eventually_sync, wait_until_blocked_by

LOCK = text("SELECT pg_advisory_xact_lock(:key)")


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings, application_name="test-waiting")
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_writer_waiting_for_the_holders_lock_is_found_by_its_backend(
    database: Database,
) -> None:
    async with database.sessionmaker() as holder, database.sessionmaker() as second:
        await holder.execute(LOCK, {"key": 17})
        second_pid = await backend_pid(second)
        racing = asyncio.create_task(second.execute(LOCK, {"key": 17}))

        waiting = await wait_until_blocked_by(database, holder, task=racing)

        assert waiting == second_pid, (waiting, second_pid)
        assert not racing.done()
        await holder.rollback()
        await asyncio.wait_for(racing, timeout=10)


async def test_a_writer_that_takes_no_lock_of_the_holders_fails_the_wait_at_once(
    database: Database,
) -> None:
    async with database.sessionmaker() as holder, database.sessionmaker() as second:
        await holder.execute(LOCK, {"key": 18})
        racing = asyncio.create_task(second.execute(LOCK, {"key": 19}))
        started = time.monotonic()

        with pytest.raises(AssertionError, match="succeeded without waiting for the lock"):
            await wait_until_blocked_by(database, holder, task=racing, timeout=30)

        assert time.monotonic() - started < 10, "the wait ran to its deadline"


async def test_eventually_returns_the_first_truthy_result_and_fails_naming_the_check() -> None:
    polls: list[int] = []

    async def third_time() -> int | None:
        polls.append(1)
        return len(polls) if len(polls) == 3 else None

    assert await eventually(third_time, interval=0) == 3

    def never() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"not true within 0\.1 s: never \(last: False\)"):
        await eventually(never, timeout=0.1)
    with pytest.raises(AssertionError, match=r"not true within 0\.1 s: the sink got a mail"):
        eventually_sync(never, timeout=0.1, message="the sink got a mail")
