"""The outbox relay: moves new outbox rows of both schemas to arq jobs.

Each event becomes one ``handle_event`` job whose id is ``outbox:<schema>:<event id>``, so a
relay that runs twice (two workers, or a crash between enqueueing and marking) enqueues it once.
The job carries the id of the request that wrote the event, so its logs name that request, and
when the process traces, a ``relay`` span continues the trace recorded in the event's envelope
and the job continues the relay's (``shared.tracing``).
Rows are taken with ``FOR UPDATE SKIP LOCKED`` and marked ``relayed_at`` in the same transaction:
when Redis is down the transaction rolls back and the rows wait for the next pass. The relay
is woken by PostgreSQL ``NOTIFY`` on every committed outbox write and sweeps on a timer anyway;
the sweep also enqueues again events relayed long ago whose job never finished (lost with a
Redis that restarted empty, or failed for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from opentelemetry.trace import SpanKind
from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from services.worker.context import WorkerContext, worker_context
from services.worker.registry import OUTBOXES
from shared.outbox import OUTBOX_CHANNEL
from shared.settings import to_libpq_url
from shared.tracing import TRACEPARENT, TRACEPARENT_KEYWORD, current_traceparent, span

log = logging.getLogger(__name__)

BATCH = 500
#: Failures that end a pass early; the next pass tries again.
TRANSIENT = (RedisError, OSError, OperationalError, DBAPIError, asyncpg.PostgresError)


def event_job_id(schema: str, event_id: uuid.UUID | str) -> str:
    return f"outbox:{schema}:{event_id}"


async def _enqueue_batch(
    worker: WorkerContext, schema: str, table: Table, *, redeliver: bool
) -> int:
    """Enqueue one batch of ``schema``'s outbox; how many rows it took."""
    waiting: list[ColumnElement[bool]] = [table.c.relayed_at.is_(None)]
    if redeliver:
        cutoff = func.now() - timedelta(seconds=worker.settings.outbox_redeliver_after_seconds)
        waiting = [table.c.relayed_at < cutoff, table.c.handled_at.is_(None)]
    async with worker.database.sessionmaker() as session, session.begin():
        rows = (
            await session.execute(
                select(
                    table.c.position,
                    table.c.id,
                    table.c.type,
                    table.c.envelope["request_id"].astext.label("request_id"),
                    table.c.envelope[TRACEPARENT].astext.label("traceparent"),
                )
                .where(*waiting)
                .order_by(table.c.position)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            # The trace of the request that wrote the event goes on into its job.
            with span(
                f"relay {row.type}",
                traceparent=row.traceparent,
                kind=SpanKind.PRODUCER,
                attributes={"mc2cm.outbox.schema": schema, "mc2cm.event.id": str(row.id)},
            ):
                options = {}
                traceparent = current_traceparent()
                if traceparent is not None:
                    options[TRACEPARENT_KEYWORD] = traceparent
                await worker.enqueue(
                    "handle_event",
                    schema,
                    str(row.id),
                    _job_id=event_job_id(schema, row.id),
                    request_id=row.request_id,
                    **options,
                )
        if rows:
            await session.execute(
                update(table)
                .where(table.c.position.in_([row.position for row in rows]))
                .values(relayed_at=func.now())
            )
    return len(rows)


async def relay(worker: WorkerContext, *, redeliver: bool = False) -> int:
    """Enqueue every waiting outbox row of both schemas; how many were enqueued.

    With ``redeliver``, the rows are those relayed more than ``outbox_redeliver_after_seconds``
    ago and still unhandled.
    """
    total = 0
    for schema, table in OUTBOXES.items():
        while True:
            taken = await _enqueue_batch(worker, schema, table, redeliver=redeliver)
            total += taken
            if taken < BATCH:
                break
    if total:
        log.info("relayed %d outbox events%s", total, " again" if redeliver else "")
    return total


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Cron job: relay what is waiting and redeliver what was lost, whatever the relay loop
    is doing (the loop does the same on its timer; job ids keep the two from doubling)."""
    worker = worker_context(ctx)
    return await relay(worker) + await relay(worker, redeliver=True)


class _Listener:
    """A connection ``LISTEN``ing on the outbox channel, reopened when it drops."""

    def __init__(self, database_url: str, wake: asyncio.Event) -> None:
        self.url = to_libpq_url(database_url)
        self.wake = wake
        self.connection: asyncpg.Connection | None = None

    def _notified(self, *args: object) -> None:
        self.wake.set()

    async def ensure(self) -> None:
        if self.connection is not None and not self.connection.is_closed():
            return
        try:
            self.connection = await asyncpg.connect(self.url)
            await self.connection.add_listener(OUTBOX_CHANNEL, self._notified)
        except TRANSIENT as exc:
            log.warning("cannot listen for outbox writes (sweeping on the timer): %s", exc)
            self.connection = None
        else:
            self.wake.set()  # rows written while nobody listened

    async def close(self) -> None:
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close()


async def run_relay(worker: WorkerContext, stop: asyncio.Event) -> None:
    """Relay until ``stop`` is set: on every NOTIFY, and at least every sweep interval."""
    settings = worker.settings
    assert settings.database_url is not None
    wake = asyncio.Event()
    listener = _Listener(settings.database_url, wake)
    loop = asyncio.get_running_loop()
    next_redelivery = loop.time()
    try:
        while not stop.is_set():
            await listener.ensure()
            wake.clear()
            try:
                await relay(worker)
                if loop.time() >= next_redelivery:
                    await relay(worker, redeliver=True)
                    next_redelivery = loop.time() + settings.outbox_sweep_seconds
            except TRANSIENT as exc:
                log.warning("outbox relay pass failed, retrying: %s", exc)
                # Not at every NOTIFY while Redis or PostgreSQL is away: once a second at most.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1)
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(
                    waiters,
                    timeout=settings.outbox_sweep_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
    finally:
        await listener.close()
