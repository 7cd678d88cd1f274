"""What every run of a job records: the request it descends from and the job, in every log
line of the run; how it ended and how long it took, in the worker's metrics.

A job is enqueued with the request id in effect: ``WorkerContext.enqueue`` passes it as the
``_request_id`` keyword, and the relay gives each event's job the id recorded in the event. So
a job caused by a request logs with that request's id, and so do the jobs it enqueues in turn.
A job enqueued by no request (a cron job, and what it enqueues) gets ``job:<its job id>``.

arq runs each job in a task of its own: it reads the job (``job_deserializer``), calls
``on_job_start``, logs the start, runs the function in a task that inherits the context,
then logs the end or the failure with its traceback. ``read_job`` and ``enter_job`` set the
log context at the first two steps, so arq's own lines of the job carry it too. ``instrument``
wraps each job's function to count its runs and, when the process traces, to run it in a
consumer span continuing the trace it was enqueued in (the ``_traceparent`` keyword,
``shared.tracing``).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import pickle
import time
from typing import Any, TypeVar

from arq import Retry
from arq.cron import CronJob
from arq.worker import Function
from opentelemetry.trace import SpanKind

from services.worker.context import worker_context
from shared.jobs import REQUEST_ID_KEYWORD
from shared.observability import JobRef, job_var, request_id_var
from shared.tracing import TRACEPARENT_KEYWORD, span

#: A cancellation this close to the job's timeout is arq's timeout, not a worker stopping.
TIMEOUT_MARGIN_SECONDS = 0.05

#: The trace the current task's job continues (``shared.tracing``), from ``read_job`` on.
_traceparent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "job_traceparent", default=None
)

#: The function the current task's job runs, between ``read_job`` and ``enter_job``.
_function_name: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "job_function", default=None
)

JobDefinition = TypeVar("JobDefinition", Function, CronJob)


def read_job(raw: bytes) -> Any:
    """The worker's ``job_deserializer``: the job as arq stored it (pickled, arq's default),
    its request id taken off its keywords into the running task's log context."""
    job = pickle.loads(raw)  # written by our own enqueue into our own Redis
    request_id = job["k"].pop(REQUEST_ID_KEYWORD, None)
    if request_id is not None:
        request_id_var.set(str(request_id))
    traceparent = job["k"].pop(TRACEPARENT_KEYWORD, None)
    _traceparent.set(str(traceparent) if traceparent is not None else None)
    _function_name.set(job["f"])
    return job


async def enter_job(ctx: dict[str, Any]) -> None:
    """The worker's ``on_job_start``: names the job in the log context; a job without a
    request id gets one of its own."""
    job_id = str(ctx["job_id"])
    job_var.set(JobRef(_function_name.get() or "?", job_id))
    if request_id_var.get() is None:
        request_id_var.set(f"job:{job_id}")


def instrument(definition: JobDefinition, *, default_timeout: float) -> JobDefinition:
    """``definition`` with each run of its coroutine counted and timed."""
    name = definition.name
    coroutine = definition.coroutine
    timeout = definition.timeout_s if definition.timeout_s is not None else default_timeout

    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        metrics = worker_context(ctx).metrics
        metrics.in_progress.labels(name).inc()
        started = time.perf_counter()
        outcome = "failed"
        try:
            with span(
                f"job {name}",
                traceparent=_traceparent.get(),
                kind=SpanKind.CONSUMER,
                attributes={
                    "mc2cm.job.id": str(ctx.get("job_id")),
                    "mc2cm.job.try": ctx.get("job_try", 1),
                },
            ):
                result = await coroutine(ctx, *args, **kwargs)
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            # arq cancels a job that outlives its timeout (a failure, not tried again) and the
            # jobs still running when the worker stops (run again by the next worker).
            if time.perf_counter() - started < timeout - TIMEOUT_MARGIN_SECONDS:
                outcome = "retry"
            raise
        else:
            outcome = "complete"
            return result
        finally:
            metrics.in_progress.labels(name).dec()
            metrics.duration.labels(name).observe(time.perf_counter() - started)
            metrics.jobs.labels(name, outcome).inc()

    return dataclasses.replace(definition, coroutine=run)
