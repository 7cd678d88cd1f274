"""The worker process: the outbox relay beside an arq worker running every job and cron job.

``run_worker`` is what ``mc2cm worker`` runs; tests run ``Worker`` the same way in-process.
Both parts survive the loss of Redis or PostgreSQL: the relay retries its passes, and an arq
worker stopped by a lost Redis connection is started again after a pause. Beside them an HTTP
server answers probes and scrapes (``services.worker.operations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Function, Worker, func
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from services.worker import registry
from services.worker.context import WorkerContext
from services.worker.dispatch import handle_event
from services.worker.housekeeping import purge_idempotency_keys
from services.worker.instrumentation import enter_job, instrument, read_job
from services.worker.metrics import WorkerMetrics
from services.worker.operations import serve_operations
from services.worker.relay import run_relay, sweep_outbox
from services.worker.smtp import SmtpConnections
from shared.db import Database
from shared.observability import DatabasePoolCollector
from shared.settings import Settings
from shared.tracing import instrument_database, start_tracing

log = logging.getLogger(__name__)


def redis_client(url: str, queue_name: str) -> ArqRedis:
    """An arq client of ``url`` (``redis://``, ``rediss://`` or ``unix://``). It connects on
    first use, so a worker starts (and its relay waits) while Redis is still away."""
    pool = ConnectionPool.from_url(url, socket_connect_timeout=5)
    return ArqRedis(pool, default_queue_name=queue_name)


def functions() -> list[Function]:
    return [
        func(handle_event, name="handle_event"),
        *registry.FUNCTIONS,
    ]


def cron_jobs() -> list[CronJob]:
    """Fresh copies of every cron job: arq keeps a job's schedule on the object, and a worker
    built again in the same process (after Redis was lost) must run start-up jobs again."""
    jobs = [
        *registry.CRON_JOBS,
        cron(sweep_outbox, name="sweep_outbox", second={20}),
        cron(purge_idempotency_keys, name="purge_idempotency_keys", minute={10}, second={0}),
    ]
    return [dataclasses.replace(job, next_run=None) for job in jobs]


def build_worker(context: WorkerContext, **overrides: Any) -> Worker:
    """An arq worker for ``context``'s queue with every job and cron job of the platform.

    Every job, also one ``overrides`` adds, runs in its request's log context and is counted
    in ``context.metrics`` (``services.worker.instrumentation``).
    """
    settings = context.settings
    options: dict[str, Any] = {
        "functions": functions(),
        "cron_jobs": cron_jobs(),
        "queue_name": settings.queue_name,
        "redis_pool": context.redis,
        "ctx": {"worker": context},
        "job_timeout": settings.job_timeout_seconds,
        "max_tries": settings.job_max_tries,
        "job_completion_wait": int(settings.job_timeout_seconds),
        "handle_signals": False,
        # Every log line of a job names it and the request it descends from.
        "job_deserializer": read_job,
        "on_job_start": enter_job,
        # Jobs are picked within 0.1 s of being due (arq's default is 0.5 s): a write's
        # aggregate and mails wait for two jobs in a row.
        "poll_delay": 0.1,
    }
    options |= overrides
    timeout = float(options["job_timeout"])
    options["functions"] = [
        instrument(
            definition if isinstance(definition, Function) else func(definition),
            default_timeout=timeout,
        )
        for definition in options["functions"]
    ]
    options["cron_jobs"] = [
        instrument(job, default_timeout=timeout) for job in options["cron_jobs"] or []
    ]
    for definition in [*options["functions"], *options["cron_jobs"]]:
        context.metrics.declare(definition.name)
    return Worker(**options)


@asynccontextmanager
async def open_worker(settings: Settings, *, name: str = "worker") -> AsyncIterator[WorkerContext]:
    """The database and Redis pool of a worker process, closed on exit."""
    assert settings.redis_url is not None
    database = Database.from_settings(settings, application_name=f"mc2cm-{name}")
    # Traced only with MC2CM_OTLP_ENDPOINT (shared.tracing).
    instrument_database(database, start_tracing(settings, name))
    redis = redis_client(settings.redis_url, settings.queue_name)
    smtp = SmtpConnections(settings)
    context = WorkerContext(
        settings=settings,
        database=database,
        redis=redis,
        smtp=smtp,
        metrics=WorkerMetrics(registry.OUTBOXES),
        cities=registry.CITY_DIRECTORY,
        indicators=registry.INDICATOR_DIRECTORY,
    )
    DatabasePoolCollector(context.registry, lambda: database)
    # The domains' own metrics, shown from the first scrape.
    for metric in registry.METRICS:
        metric.of(context.registry)
    try:
        yield context
    finally:
        await smtp.close()
        await context.http.close()
        await redis.aclose(close_connection_pool=True)
        await database.dispose()


async def _run_jobs(context: WorkerContext, stop: asyncio.Event) -> None:
    """Run the arq worker until ``stop``; start it again when Redis drops it.

    Once stopped it takes no new job and gives the running ones ``shutdown_grace_seconds``
    to finish, or ``job_timeout_seconds`` if shorter (also for a job whose own timeout is
    longer, as ``refresh_aggregates``'s hour); those still running then are cancelled, and
    arq puts them back in the queue for the next worker, which runs them again from the
    start (every job is idempotent).
    """
    pause = 1.0
    while not stop.is_set():
        worker = build_worker(context)
        main = asyncio.ensure_future(worker.main())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if main.done():
            error = main.exception() if not main.cancelled() else None
            if error is not None and not isinstance(error, RedisError | OSError):
                raise error
            log.warning("job worker stopped (%r); starting again in %.0f s", error, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            pause = min(pause * 2, 30)
            continue
        # Asked to stop: no new jobs, running jobs finish within the grace period.
        worker.allow_pick_jobs = False
        running = [task for task in worker.tasks.values() if not task.done()]
        if running:
            log.info("stopping: waiting for %d running jobs", len(running))
            grace = min(
                context.settings.shutdown_grace_seconds, context.settings.job_timeout_seconds
            )
            _, unfinished = await asyncio.wait(running, timeout=grace)
            if unfinished:
                log.warning(
                    "stopping: %d jobs still running after %s s are cancelled and will run again",
                    len(unfinished),
                    grace,
                )
                for task in unfinished:
                    task.cancel()
                await asyncio.wait(unfinished)
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The worker process: relay and jobs side by side until ``stop`` is set, and the
    operations endpoints (``/healthz``, ``/readyz``, ``/metrics``) until both have stopped."""
    async with open_worker(settings) as context, serve_operations(context, stop):
        relay = asyncio.ensure_future(run_relay(context, stop))
        try:
            await _run_jobs(context, stop)
        finally:
            stop.set()
            await relay
