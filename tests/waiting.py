"""Waiting in tests: on a condition the test can observe, with a deadline, never for a time.

A fixed ``sleep`` is either too short on a loaded machine (the test fails for no fault of the
code) or longer than needed everywhere else (the suite is slow). Use instead:

- ``eventually(check)`` in async tests: polls ``check`` (sync or async) until it returns
  something truthy and returns that, or fails naming the check after ``timeout`` seconds.
- ``eventually_sync(check)``: the same for synchronous tests (subprocesses, servers).
- ``wait_until_blocked_by(database, holder, task=racing)`` in race tests: returns once another
  transaction waits for a lock that ``holder``'s transaction holds (PostgreSQL's
  ``pg_blocking_pids``); fails at once if ``task`` (the writer expected to wait) finished
  instead, since then it took no lock or did not wait for it.

Example of a race test::

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.update_city(first, admin, "GRATH", change(1.0), if_match='"1"')
        racing = asyncio.create_task(service.update_city(second, ...))
        await wait_until_blocked_by(own_database, first, task=racing)
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.db import Database

T = TypeVar("T")

#: Long enough for a machine busy with other test runs; a passing wait returns far sooner.
DEFAULT_TIMEOUT = 15.0


def _describe(check: Callable[..., Any], message: str | None) -> str:
    return message or getattr(check, "__name__", repr(check))


async def eventually(
    check: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    message: str | None = None,
) -> T:
    """The first truthy result of ``check``, polled every ``interval`` seconds; fails after
    ``timeout`` seconds with ``message`` (or the check's name) and the last result."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(
                f"not true within {timeout} s: {_describe(check, message)} (last: {result!r})"
            )
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    message: str | None = None,
) -> T:
    """``eventually`` for synchronous tests."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not true within {timeout} s: {_describe(check, message)} (last: {result!r})"
            )
        time.sleep(interval)


async def backend_pid(session: AsyncSession) -> int:
    """The process id of the PostgreSQL backend serving ``session``'s transaction (starts
    one if none is open)."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int), pid
    return pid


async def wait_until_blocked_by(
    database: Database | AsyncEngine,
    holder: AsyncSession | int,
    *,
    task: asyncio.Future[Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Wait until a transaction waits for a lock held by ``holder`` (a session inside its
    transaction, or a backend pid); the waiting backend's pid.

    ``database`` is polled on a connection of its own. If ``task`` finishes before anything
    waits, the wait fails at once: the writer it runs did not wait for ``holder``'s lock.
    """
    engine = database.engine if isinstance(database, Database) else database
    holder_pid = holder if isinstance(holder, int) else await backend_pid(holder)
    # A new transaction at each poll: pg_stat_activity is a snapshot per transaction.
    query = text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid)) LIMIT 1"
    )

    async def waiting_backend() -> int | None:
        if task is not None and task.done():
            if task.cancelled():
                outcome = "was cancelled"
            elif task.exception() is not None:
                outcome = f"failed ({task.exception()!r})"
            else:
                outcome = "succeeded"
            raise AssertionError(
                f"the racing writer {outcome} without waiting for the lock of backend {holder_pid}"
            )
        async with engine.connect() as connection:
            pid = await connection.scalar(query, {"holder": holder_pid})
            await connection.rollback()
        return int(pid) if pid is not None else None

    waiting = await eventually(
        waiting_backend,
        timeout=timeout,
        interval=0.02,
        message=f"a transaction waiting for a lock of backend {holder_pid}",
    )
    return waiting
