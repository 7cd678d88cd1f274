"""Where the benchmarks run: a PostgreSQL server and a Redis, and a scratch directory.

``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL`` name them, else ``TEST_DATABASE_URL`` /
``TEST_REDIS_URL``, else embedded servers are started for the run. Each benchmark creates
its own databases on the server (``BenchEnv.database``) and drops them when done.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.embedded import start_embedded_stack
from tests.conftest import create_database, drop_database


@dataclass(frozen=True)
class BenchEnv:
    """The servers and scratch directory of one ``make bench`` run."""

    server_url: str  # a PostgreSQL server; benchmarks create databases on it
    redis_url: str
    workdir: Path

    @asynccontextmanager
    async def database(self, prefix: str = "mc2cm_bench") -> AsyncIterator[str]:
        """A new empty database's URL, dropped afterwards (migrate it with ``migrate_all``)."""
        url = await create_database(self.server_url, prefix)
        try:
            yield url
        finally:
            await drop_database(url)


@contextmanager
def bench_env() -> Iterator[BenchEnv]:
    """The run's servers: the configured ones, or embedded ones started for the run."""
    database = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="mc2cm-bench-") as tmp:
        workdir = Path(tmp)
        stack = None
        if not database or not redis:
            stack = start_embedded_stack(workdir / "stack", postgres=not database, redis=not redis)
        try:
            yield BenchEnv(
                server_url=database or stack.database_url,  # type: ignore[union-attr]
                redis_url=redis or stack.redis_url,  # type: ignore[union-attr]
                workdir=workdir,
            )
        finally:
            if stack is not None:
                stack.close()
