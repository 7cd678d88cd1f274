"""What a domain's background work may rely on, and how a domain declares it.

Each domain that reacts to outbox events or runs jobs has a ``tasks.py`` that declares a
``Tasks``: its handlers by event type, its arq functions, its cron jobs and its metrics. Each
service gathers its domains' ``Tasks`` with its outbox and ``Idempotency-Key`` tables in a
``ServiceTasks`` (``services/<service>/tasks.py``). The worker (``services/worker``) is only
machinery: it builds one dispatch table from every service's ``ServiceTasks``, runs the jobs,
and hands each of them a ``JobContext``. Domains depend on this module, never on the worker.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any, Generic, Protocol, TypeVar

import httpx
from arq.cron import CronJob
from arq.worker import Function
from prometheus_client import CollectorRegistry
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.cities import CityRef
from shared.contracts.events import OutboxEvent
from shared.contracts.indicators import IndicatorRef
from shared.db import Database
from shared.settings import Settings

#: The keyword a job's request id travels in (set by whoever enqueues the job); the worker's
#: instrumentation takes it off before the job's function sees its arguments.
REQUEST_ID_KEYWORD = "_request_id"


class MailTransport(Protocol):
    """The worker's SMTP connections: sends one message, raising on refusal or failure."""

    async def send(self, message: Message) -> None: ...


class HttpClients(Protocol):
    """The worker's outbound HTTP: a client for the calls to one destination."""

    def client(self, *, timeout: float) -> httpx.AsyncClient: ...


class OutboundHttp:
    """Outbound HTTP clients that follow no redirect and read no proxy from the environment.

    One client per destination, never shared between destinations: callers pin each call to
    an address they checked for that destination (``shared.outbound``), and a pooled
    connection to the same address made for another name would carry the wrong TLS identity.
    """

    def client(self, *, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)


#: Every city of the network as its owner (profiles) has it, with when each last changed,
#: read in the given session: what the dialogue's read model of the cities resyncs from.
CityDirectory = Callable[[AsyncSession], Awaitable[Sequence[tuple[CityRef, datetime]]]]
#: Every indicator of profiles' catalogue, with when each last changed, read in the given
#: session: what the dialogue's read model of the catalogue resyncs from.
IndicatorDirectory = Callable[[AsyncSession], Awaitable[Sequence[tuple[IndicatorRef, datetime]]]]


class JobContext(Protocol):
    """The worker's shared state, as every handler and job sees it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def smtp(self) -> MailTransport: ...

    @property
    def http(self) -> HttpClients: ...

    @property
    def cities(self) -> CityDirectory:
        """The network's cities as profiles has them (the worker is where both services meet:
        the dialogue never imports profiles)."""
        ...

    @property
    def indicators(self) -> IndicatorDirectory:
        """Profiles' indicator catalogue, as the dialogue's read model keeps it."""
        ...

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

M = TypeVar("M")


class DomainMetric(Generic[M]):
    """A metric a domain declares on the worker's registry (``JobContext.registry``).

    ``build`` creates it on one registry; ``of`` gives it, created once per registry. Listed
    in the domain's ``Tasks.metrics``, it is declared when the worker starts, so its series
    are scraped from the beginning.
    """

    def __init__(self, build: Callable[[CollectorRegistry], M]) -> None:
        self._build = build
        self._declared: weakref.WeakKeyDictionary[CollectorRegistry, M] = (
            weakref.WeakKeyDictionary()
        )

    def of(self, registry: CollectorRegistry) -> M:
        """The metric on ``registry``, declared there on first use."""
        metric = self._declared.get(registry)
        if metric is None:
            metric = self._declared[registry] = self._build(registry)
        return metric


@dataclass(frozen=True)
class Tasks:
    """What one domain gives the worker to run."""

    handlers: Handlers = field(default_factory=dict)
    functions: Sequence[Function] = ()
    cron_jobs: Sequence[CronJob] = ()
    metrics: Sequence[DomainMetric[Any]] = ()


@dataclass(frozen=True)
class ServiceTasks:
    """One service's part of the worker: its domains' ``Tasks``, in the order their handlers
    run for one event, and the tables of its schema the worker's machinery serves (the outbox
    it relays, the ``Idempotency-Key`` responses it purges)."""

    schema: str
    outbox: Table
    idempotency_keys: Table
    domains: Sequence[Tasks]
