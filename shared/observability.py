"""Request ids, access metrics and structured logs shared by every process of the platform;
the process's own metrics and its database pools' (``add_process_collectors``,
``DatabasePoolCollector``)."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool, QueuePool

from shared.settings import LogFormat

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from shared.db import Database

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

#: Who the current request acts for, as (subject, role); ``None`` outside requests. Set by
#: ``shared.auth.optional_principal``, read by the audit log.
actor_var: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "actor", default=None
)

REQUEST_ID_HEADER = "x-request-id"
#: A caller's ``X-Request-ID`` is kept only in this form (anything else gets a new id): it goes
#: into log lines and into the events' envelopes that partners receive.
REQUEST_ID_FORM = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: One line per request, once it has been answered (``RequestContextMiddleware``).
access_log = logging.getLogger("mc2cm.access")
#: Where the request id is kept in the ASGI scope, for the 500 handler: Starlette renders
#: unhandled errors outside every middleware, after this one has finished.
REQUEST_ID_SCOPE_KEY = "mc2cm.request_id"


def add_process_collectors(registry: CollectorRegistry) -> None:
    """The process's CPU, memory and open files (``process_*``), the Python version
    (``python_info``) and the garbage collector's work (``python_gc_*``) in ``registry``: the
    standard collectors, under the names dashboards for any Python process expect."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


def _waiters(pool: Pool) -> int:
    """Callers waiting for one of ``pool``'s connections now. SQLAlchemy says nothing of them:
    an async pool's queue is an ``asyncio.Queue`` (made on first use), whose waiting ``get``
    calls are its pending getters."""
    queue = vars(getattr(pool, "_pool", None) or object()).get("_queue")
    getters = getattr(queue, "_getters", ())
    return sum(1 for getter in getters if not getter.done())


class DatabasePoolCollector(Collector):
    """The connection pools of a process's database, read at each scrape, by database
    (``primary``, and each replica by its name): ``mc2cm_db_pool_size`` (the connections it
    keeps), ``mc2cm_db_pool_checked_out`` (lent now), ``mc2cm_db_pool_overflow`` (open beyond
    the size, up to ``MC2CM_DB_MAX_OVERFLOW``) and ``mc2cm_db_pool_waiters`` (callers waiting
    for a connection, each for at most ``MC2CM_DB_POOL_TIMEOUT_SECONDS``). No sample before
    the database is opened."""

    def __init__(self, registry: CollectorRegistry, database: Callable[[], Database | None]):
        self.database = database
        registry.register(self)

    def _pools(self) -> Iterator[tuple[str, Pool]]:
        database = self.database()
        if database is None:
            return
        yield "primary", database.engine.sync_engine.pool
        if database.replicas is not None:
            for replica in database.replicas.replicas:
                yield replica.name, replica.engine.sync_engine.pool

    def describe(self) -> list[GaugeMetricFamily]:
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        size, checked_out, overflow, waiters = families
        for name, pool in self._pools():
            if isinstance(pool, QueuePool):
                size.add_metric([name], pool.size())
                checked_out.add_metric([name], pool.checkedout())
                overflow.add_metric([name], max(pool.overflow(), 0))
                waiters.add_metric([name], _waiters(pool))
        yield from families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return tuple(
            GaugeMetricFamily(f"mc2cm_db_pool_{name}", documentation, labels=["database"])
            for name, documentation in (
                ("size", "Connections the database pool keeps."),
                ("checked_out", "Connections of the pool lent now."),
                ("overflow", "Connections open beyond the pool's size."),
                ("waiters", "Callers waiting for a connection of the pool."),
            )
        )


class HttpMetrics:
    """Request counts and latencies by route template, in the app's own registry, with the
    process's collectors (``add_process_collectors``)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        add_process_collectors(self.registry)
        self.requests = Counter(
            "mc2cm_http_requests_total",
            "HTTP requests by route and status.",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mc2cm_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["service", "method", "route"],
            registry=self.registry,
        )
        self.service = service


def _route_template(scope: Scope) -> str:
    # The router records the matched route in the scope; unmatched paths share one label so
    # that scanners cannot grow the metric's cardinality.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` if it has the expected form, otherwise a new one."""
    incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode())
    if incoming is not None:
        sent: str = incoming.decode("latin-1")
        if REQUEST_ID_FORM.fullmatch(sent):
            return sent
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Carries ``X-Request-ID`` (or a new one) through logs and into the response; times the
    request, counts it and writes its access line (``mc2cm.access``, INFO)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        token = request_id_var.set(request_id)
        # Anonymous until a token says otherwise; reset below so that nothing leaks from one
        # request into code that runs after it in the same task (tests, embedded clients).
        actor_token = actor_var.set(("anonymous", None))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(name.lower() == REQUEST_ID_HEADER.encode() for name, _ in headers):
                    headers.append((REQUEST_ID_HEADER.encode(), request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(self.metrics.service, method, route, str(status)).inc()
            self.metrics.latency.labels(self.metrics.service, method, route).observe(elapsed)
            # The path without its query string, which may carry what a log should not keep.
            path = scope["path"]
            duration_ms = round(elapsed * 1000, 1)
            access_log.info(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                duration_ms,
                extra={
                    LOG_FIELDS: {
                        "method": method,
                        "route": route,
                        "path": path,
                        "status": status,
                        "duration_ms": duration_ms,
                    }
                },
            )
            request_id_var.reset(token)
            actor_var.reset(actor_token)


@dataclass(frozen=True)
class JobRef:
    """The job a worker task runs: its function's name and its arq job id."""

    name: str
    id: str


#: The job the current task runs; ``None`` outside the worker's jobs. Set by the worker.
job_var: contextvars.ContextVar[JobRef | None] = contextvars.ContextVar("job", default=None)


#: The attribute (``extra={LOG_FIELDS: {...}}``) whose keys a JSON line adds to its own.
LOG_FIELDS = "fields"


class ContextFilter(logging.Filter):
    """Adds the current request id and job to every log record (``None`` when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job = job_var.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message`` for a terminal; ``-`` outside requests."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_label)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_label = getattr(record, "request_id", None) or "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    ``request_id``; ``job`` and ``job_id`` inside the worker's jobs; ``exc_info`` (the
    traceback as text) when an exception is logged; and the keys of the record's
    ``LOG_FIELDS`` (the access lines': ``method``, ``route``, ``path``, ``status``,
    ``duration_ms``), which never replace those."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        job: JobRef | None = getattr(record, "job", None)
        if job is not None:
            line["job"], line["job_id"] = job.name, job.id
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        for key, value in getattr(record, LOG_FIELDS, {}).items():
            line.setdefault(key, value)
        return orjson.dumps(line, default=str).decode()


def configure_logging(
    level: str, stream: TextIO | None = None, *, log_format: str = LogFormat.json
) -> None:
    """Log to stderr (or ``stream``) in ``log_format``, each line with the request id of the
    request or job it was written for. Every logger goes through this one handler, uvicorn's
    included (``mc2cm serve`` and the worker's server leave logging to it)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == LogFormat.json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
