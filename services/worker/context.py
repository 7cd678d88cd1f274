"""What every job of the worker reaches: settings, the database, the arq queue and the open
SMTP connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis

from services.worker.smtp import SmtpConnections
from shared.contracts.events import OutboxEvent
from shared.db import Database
from shared.settings import Settings


@dataclass(frozen=True)
class WorkerContext:
    """The worker's shared state; arq hands it to each job as ``ctx["worker"]``."""

    settings: Settings
    database: Database
    redis: ArqRedis
    smtp: SmtpConnections

    async def enqueue(self, function: str, *args: Any, **options: Any) -> bool:
        """Enqueue ``function`` on the worker's queue; ``False`` when a job of that id exists."""
        job = await self.redis.enqueue_job(
            function, *args, _queue_name=self.settings.queue_name, **options
        )
        return job is not None


def worker_context(ctx: Mapping[str, Any]) -> WorkerContext:
    """The ``WorkerContext`` of an arq job's ``ctx``."""
    context: WorkerContext = ctx["worker"]
    return context


#: A reaction to one outbox event. It runs at least once per event, so it must be idempotent.
Handler = Callable[[WorkerContext, OutboxEvent], Awaitable[None]]
#: The handlers of a domain by event type.
Handlers = Mapping[str, Sequence[Handler]]
