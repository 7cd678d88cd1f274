"""What a domain's background work may rely on, and how a domain declares it.

Each domain that reacts to outbox events or runs jobs has a ``tasks.py`` that declares a
``Tasks``: its handlers by event type, its arq functions and its cron jobs. The worker
(``services/worker``) is only machinery: it builds one dispatch table from every domain's
``Tasks``, runs the jobs, and hands each of them a ``JobContext``. Domains depend on this
module, never on the worker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

from arq.cron import CronJob
from arq.worker import Function
from prometheus_client import CollectorRegistry

from shared.contracts.events import OutboxEvent
from shared.db import Database
from shared.settings import Settings


class MailTransport(Protocol):
    """The worker's SMTP connections: sends one message, raising on refusal or failure."""

    async def send(self, message: Message) -> None: ...


class JobContext(Protocol):
    """The worker's shared state, as every handler and job sees it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def smtp(self) -> MailTransport: ...

    @property
    def registry(self) -> CollectorRegistry:
        """The worker process's Prometheus registry, where a domain declares its metrics."""
        ...

    async def enqueue(
        self, function: str, *args: Any, request_id: str | None = None, **options: Any
    ) -> bool:
        """Enqueue ``function``; ``False`` when a job of that id exists already."""
        ...


def job_context(ctx: Mapping[str, Any]) -> JobContext:
    """The ``JobContext`` of an arq job's ``ctx`` (the worker puts it under ``"worker"``)."""
    context: JobContext = ctx["worker"]
    return context


#: A reaction to one outbox event. It runs at least once per event, so it must be idempotent.
Handler = Callable[[JobContext, OutboxEvent], Awaitable[None]]
#: A domain's handlers by event type.
Handlers = Mapping[str, Sequence[Handler]]


@dataclass(frozen=True)
class Tasks:
    """What one domain gives the worker to run."""

    handlers: Handlers = field(default_factory=dict)
    functions: Sequence[Function] = ()
    cron_jobs: Sequence[CronJob] = ()
