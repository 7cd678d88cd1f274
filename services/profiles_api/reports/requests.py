"""Asking the worker for an edition's PDF: a job per edition, language and attempt."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from services.profiles_api.reports.repository import StoredReport
from shared.jobs import REQUEST_ID_KEYWORD
from shared.observability import request_id_var

#: The worker's job rendering an edition's PDF in one language.
RENDER_JOB = "render_edition_report"
#: ``JobContext.enqueue``'s shape: the function's name, its arguments, arq's options.
Enqueue = Callable[..., Awaitable[bool]]


def job_id(report: StoredReport) -> str:
    """One job per request and attempt: enqueued twice, it runs once; after a failure, the
    next attempt is a job of its own. arq keeps a finished job's id (across queues, for a
    while), so the id names the request's time too: an edition id used again (a database
    made anew) is another request."""
    requested = int(report.requested_at.timestamp() * 1_000_000)
    return (
        f"render-edition-report:{report.edition_id}:{report.language}:{requested}:{report.failures}"
    )


async def enqueue_rendering(enqueue: Enqueue, report: StoredReport) -> bool:
    """Enqueue the rendering asked for; ``False`` if it is enqueued already."""
    return await enqueue(RENDER_JOB, report.edition_id, report.language, _job_id=job_id(report))


def queue_of(redis: Redis, queue_name: str) -> Enqueue:
    """An API's way to enqueue on the worker's queue, through its own Redis connections."""
    arq = ArqRedis(connection_pool=redis.connection_pool)

    async def enqueue(function: str, *args: Any, **options: Any) -> bool:
        if (request_id := request_id_var.get()) is not None:
            options[REQUEST_ID_KEYWORD] = request_id  # the job's logs name the request
        return await arq.enqueue_job(function, *args, _queue_name=queue_name, **options) is not None

    return enqueue
