"""The worker's side of ``shared.jobs.JobContext``: what every job reaches (settings, the
database, the arq queue, the open SMTP connections, outbound HTTP on the worker's pools
(``http.py``), the worker's metrics, and profiles' cities and indicators for the dialogue's
read models)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from prometheus_client import CollectorRegistry

from services.worker.http import WorkerHttp
from services.worker.metrics import WorkerMetrics
from services.worker.smtp import SmtpConnections
from shared.db import Database
from shared.jobs import (
    REQUEST_ID_KEYWORD,
    CityDirectory,
    IndicatorDirectory,
)
from shared.observability import request_id_var
from shared.settings import Settings
from shared.tracing import TRACEPARENT_KEYWORD, current_traceparent


@dataclass(frozen=True)
class WorkerContext:
    """The worker's shared state; arq hands it to each job as ``ctx["worker"]``. Domains see
    it as a ``shared.jobs.JobContext``."""

    settings: Settings
    database: Database
    redis: ArqRedis
    smtp: SmtpConnections
    metrics: WorkerMetrics
    cities: CityDirectory
    indicators: IndicatorDirectory
    #: One TLS context and one pool of connections per destination for the whole worker.
    http: WorkerHttp = field(default_factory=WorkerHttp)

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    async def enqueue(
        self, function: str, *args: Any, request_id: str | None = None, **options: Any
    ) -> bool:
        """Enqueue ``function`` on the worker's queue; ``False`` when a job of that id exists.

        The job runs with ``request_id`` as its request id, by default the one in effect (the
        request's or job's that enqueues it), so its logs name the request it descends from;
        when the process traces, it continues the trace in effect (``shared.tracing``).
        """
        request_id = request_id or request_id_var.get()
        if request_id is not None:
            options[REQUEST_ID_KEYWORD] = request_id
        if TRACEPARENT_KEYWORD not in options:
            traceparent = current_traceparent()
            if traceparent is not None:
                options[TRACEPARENT_KEYWORD] = traceparent
        job = await self.redis.enqueue_job(
            function, *args, _queue_name=self.settings.queue_name, **options
        )
        return job is not None


def worker_context(ctx: Mapping[str, Any]) -> WorkerContext:
    """The ``WorkerContext`` of an arq job's ``ctx``."""
    context: WorkerContext = ctx["worker"]
    return context
