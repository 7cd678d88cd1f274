"""Readiness of a process: whether PostgreSQL and Redis answer, for every ``/readyz``.

The APIs (``shared.app``) and the worker's operations server (``services.worker.operations``)
answer the same way: 200 with ``checks`` when every dependency answers, else a 503 problem
naming what is down, with ``Retry-After``. A read replica that is down (``shared.replicas``)
does not take the process out of service: its reads go to the primary, and the answer is a
200 whose ``status`` is ``degraded``, its check naming the replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.responses import Response

from shared.db import Database
from shared.errors import ServiceUnavailable, render_problem
from shared.problem_handlers import RETRY_LATER

#: The check of a replica is named so: ``postgresql replica db-2:5432/mc2cm``.
REPLICA_CHECK_PREFIX = "postgresql replica "

#: Each dependency answers within this or is reported down: a probe never waits for the
#: engine's own (longer) connect and pool timeouts.
READY_TIMEOUT_SECONDS = 2.0


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


async def _check(name: str, probe: Callable[[], Awaitable[Any]]) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=READY_TIMEOUT_SECONDS)
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        return name, f"down: {type(exc).__name__}"
    return name, "ok"


async def check_dependencies(database: Database, redis: Redis | None) -> dict[str, str]:
    """``{"postgresql": "ok", "redis": "down: ConnectionError"}``, probed side by side."""

    async def ping_database() -> None:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    probes: list[tuple[str, Callable[[], Awaitable[Any]]]] = [("postgresql", ping_database)]
    if redis is not None:
        probes.append(("redis", redis.ping))
    checks = dict(await asyncio.gather(*(_check(name, probe) for name, probe in probes)))
    if database.replicas is not None:
        # As the last check of each found it (each is checked every few seconds): a replica
        # found down has its reads on the primary until then.
        for replica in database.replicas.replicas:
            checks[REPLICA_CHECK_PREFIX + replica.name] = (
                "ok" if replica.up else f"down: {replica.problem}"
            )
    return checks


def readiness_response(checks: Mapping[str, str], *, instance: str) -> Response:
    """200 with the checks when every one is ``ok`` (``degraded`` when only replicas are
    down); otherwise a 503 problem naming the rest."""
    down_names = [name for name, state in checks.items() if state != "ok"]
    if all(name.startswith(REPLICA_CHECK_PREFIX) for name in down_names):
        return Response(
            Readiness(
                status="degraded" if down_names else "ok", checks=dict(checks)
            ).model_dump_json(),
            media_type="application/json",
        )
    down = ", ".join(f"{name} {state}" for name, state in checks.items() if state != "ok")
    problem = ServiceUnavailable(f"Not ready: {down}.", checks=dict(checks), headers=RETRY_LATER)
    return render_problem(problem, instance=instance)
