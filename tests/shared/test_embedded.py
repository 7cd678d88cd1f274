"""The embedded PostgreSQL and Redis stop with the process that started them, however it ends:
a test run killed by a CI time limit must not leave servers behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import psutil
import pytest

from shared.embedded import start_embedded_stack
from tests.waiting import eventually_sync

#: Starts the stack as the tests do, prints the servers' pids, then waits to be killed.
STARTER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from shared.embedded import start_embedded_stack

    stack = start_embedded_stack(Path(sys.argv[1]), throwaway=True)
    postgres, redis = stack._handles
    print(json.dumps({"postgres": postgres.get_pid(), "redis": redis.pid}), flush=True)
    time.sleep(600)
    """
)


def gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (a zombie waiting for its parent counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def watchdogs_of(parent: int) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(parent).children()
        if "shared.embedded" in " ".join(child.cmdline())
    ]


@pytest.mark.embedded
def test_servers_stop_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(data)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert starter.stdout is not None
        servers = json.loads(starter.stdout.readline())
        watchdog = eventually_sync(lambda: watchdogs_of(starter.pid), message="its watchdog")
        assert not gone(servers["postgres"]) and not gone(servers["redis"]), servers
    finally:
        starter.kill()
        starter.wait()

    eventually_sync(lambda: gone(servers["postgres"]), timeout=60, message="PostgreSQL stopped")
    eventually_sync(lambda: gone(servers["redis"]), timeout=60, message="Redis stopped")
    eventually_sync(lambda: gone(watchdog[0].pid), timeout=10, message="the watchdog exited")
    assert not data.exists(), "a throwaway stack's data is removed with it"


@pytest.mark.embedded
async def test_the_tests_cluster_is_throwaway_and_close_stops_servers_and_watchdog(
    tmp_path: Path,
) -> None:
    data = tmp_path / "stack"
    others = {process.pid for process in watchdogs_of(os.getpid())}  # the run's own stack's
    stack = start_embedded_stack(data, throwaway=True)
    postgres, redis = stack._handles
    pids = [postgres.get_pid(), redis.pid]
    try:
        (watchdog,) = [w for w in watchdogs_of(os.getpid()) if w.pid not in others]
        assert stack.database_url is not None
        connection = await asyncpg.connect(stack.database_url)
        try:
            settings = dict(
                await connection.fetch(
                    "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
                    ["fsync", "synchronous_commit", "full_page_writes"],
                )
            )
        finally:
            await connection.close()
        assert settings == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        assert redis.config_get("save") == {"save": ""}
    finally:
        stack.close()

    assert all(gone(pid) for pid in pids), pids
    assert gone(watchdog.pid), "close() leaves no watchdog behind"
    assert not data.exists(), "a throwaway stack's data is removed with it"


@pytest.mark.embedded
async def test_a_kept_cluster_keeps_postgresql_durability(tmp_path: Path) -> None:
    """`mc2cm dev`'s data is a developer's: its cluster flushes commits as PostgreSQL does."""
    stack = start_embedded_stack(tmp_path, redis=False)
    try:
        assert stack.database_url is not None
        connection = await asyncpg.connect(stack.database_url)
        try:
            shown = [
                await connection.fetchval(f"SHOW {name}")
                for name in ("fsync", "synchronous_commit")
            ]
        finally:
            await connection.close()
        assert shown == ["on", "on"], shown
    finally:
        stack.close()
