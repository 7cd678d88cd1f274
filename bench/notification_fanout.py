"""Notification fan-out benchmark: e-mail deliveries per second against arq's own ceiling.

In one run, on the same PostgreSQL and Redis: claims N rendered e-mails (each with its event
calendar attached, as a confirmation has) to N people, then runs the real worker in burst
mode until every one is delivered to a local aiosmtpd server (a process of its own, so it
takes no CPU from the worker's); beside it, the same worker settings run N arq jobs that do
nothing. Prints claims/s, deliveries/s and no-op jobs/s; every delivery must end ``sent``.

    .venv/bin/python -m bench.notification_fanout --recipients 1000

Uses BENCH_DATABASE_URL / BENCH_REDIS_URL, else TEST_DATABASE_URL / TEST_REDIS_URL, else
the embedded servers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
from arq.worker import Worker, func
from sqlalchemy import func as sql
from sqlalchemy import select

from services.cli.runtime import migrate_all
from services.dialogue_api.events.models import Event
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.service import claim_deliveries
from services.dialogue_api.people.models import Person
from services.worker.app import build_worker, open_worker
from services.worker.context import WorkerContext
from services.worker.notifications.calendar import Invitations, Method
from services.worker.notifications.claims import enqueue_delivery
from services.worker.notifications.messages import event_fields, mail_to
from services.worker.notifications.templates import Kind
from shared.embedded import start_embedded_stack
from shared.settings import Environment, Settings, to_libpq_url
from tests.conftest import create_database, drop_database
from tests.worker.receivers import free_port

SECRET = "bench-secret-" + "x" * 40
#: aiosmtpd's handler that accepts every message and keeps none.
SINK = "aiosmtpd.handlers.Sink"


@contextmanager
def smtp_server(port: int) -> Iterator[None]:
    """aiosmtpd's discarding server on ``port``, in a process of its own."""
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", SINK],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield
    finally:
        server.terminate()
        server.wait()


async def add_people(database_url: str, count: int) -> list[int]:
    connection = await asyncpg.connect(to_libpq_url(database_url))
    try:
        await connection.executemany(
            "INSERT INTO dialogue.person (name, email, role, languages) "
            "VALUES ($1, $2, 'stakeholder', $3)",
            [
                (f"Participant {n}", f"participant.{n}@example.org", ["fr" if n % 2 else "en"])
                for n in range(count)
            ],
        )
        rows = await connection.fetch("SELECT id FROM dialogue.person ORDER BY id")
    finally:
        await connection.close()
    return [row["id"] for row in rows]


def an_event() -> Event:
    """A confirmed meeting in Tunis next month, as the e-mails show it (not stored)."""
    starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    now = datetime.now(UTC)
    return Event(
        id=1,
        title={"en": "Technical meeting of focal points", "fr": "Réunion technique"},
        description={},
        themes=["housing"],
        venue="Hôtel de Ville, Tunis",
        online_url=None,
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        timezone="Africa/Tunis",
        status="confirmed",
        version=1,
        created_at=now,
        updated_at=now,
    )


async def claim(worker: WorkerContext, person_ids: list[int]) -> float:
    """Render and claim one confirmation per person, then enqueue them; the seconds it took."""
    event = an_event()
    outbox_id = uuid.uuid4()
    invitations = Invitations(event, sender=worker.settings.mail_from, now=datetime.now(UTC))

    def attachment(person: Person, language: str) -> tuple[Method, str]:
        return Method.request, invitations.to(person, method=Method.request, language=language)

    started = time.perf_counter()
    async with worker.database.sessionmaker() as session, session.begin():
        people = (await session.scalars(select(Person).where(Person.id.in_(person_ids)))).all()
        deliveries = [
            mail_to(
                person,
                key=f"{outbox_id}:email:person:{person.id}",
                kind=Kind.registered,
                event_type="registration.changed",
                outbox_event_id=outbox_id,
                fields=partial(event_fields, event),
                attachment=partial(attachment, person),
            )
            for person in people
        ]
        scheduled = await claim_deliveries(session, deliveries)
    for row in scheduled:
        await enqueue_delivery(worker, row)
    return time.perf_counter() - started


async def deliver_all(worker: WorkerContext) -> float:
    """Run the worker in burst mode until the queue is empty; the seconds it took."""
    arq = build_worker(worker, burst=True, poll_delay=0, cron_jobs=[])
    started = time.perf_counter()
    await arq.main()
    elapsed = time.perf_counter() - started
    return elapsed


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def noop_jobs(worker: WorkerContext, count: int) -> float:
    """N jobs that do nothing, through the same worker settings; the seconds they took."""
    queue = f"{worker.settings.queue_name}-noop"
    for n in range(count):
        await worker.redis.enqueue_job("noop", _job_id=f"noop:{queue}:{n}", _queue_name=queue)
    arq = Worker(
        functions=[func(noop, name="noop")],
        redis_pool=worker.redis,
        queue_name=queue,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        job_timeout=worker.settings.job_timeout_seconds,
        max_tries=worker.settings.job_max_tries,
    )
    started = time.perf_counter()
    await arq.main()
    elapsed = time.perf_counter() - started
    return elapsed


async def run(database_url: str, redis_url: str, recipients: int) -> None:
    await migrate_all(database_url)
    person_ids = await add_people(database_url, recipients)
    port = free_port()
    settings = Settings(
        environment=Environment.test,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=SECRET,
        queue_name=f"bench-{uuid.uuid4().hex[:8]}",
        smtp_host="127.0.0.1",
        smtp_port=port,
    )
    with smtp_server(port):
        async with open_worker(settings, name="bench") as worker:
            claimed = await claim(worker, person_ids)
            delivered = await deliver_all(worker)
            baseline = await noop_jobs(worker, recipients)
            async with worker.database.sessionmaker() as session:
                sent = await session.scalar(
                    select(sql.count()).where(Notification.status == "sent")
                )
    assert sent == recipients, f"{sent} of {recipients} deliveries sent"
    rows = [
        ("claims (rendered, with calendar)", claimed),
        ("e-mail deliveries", delivered),
        ("arq no-op jobs", baseline),
    ]
    print(f"{recipients} recipients")
    for label, seconds in rows:
        print(f"{label:<34}{recipients / seconds:8.0f} /s  ({seconds:.2f} s)")
    print(f"{'deliveries per no-op job':<34}{baseline / delivered:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    args = parser.parse_args()
    database = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    with tempfile.TemporaryDirectory() as tmp:
        stack = None
        if database is None or redis is None:
            stack = start_embedded_stack(
                Path(tmp) / "stack", postgres=database is None, redis=redis is None
            )
        try:
            server = database or stack.database_url  # type: ignore[union-attr]
            database_url = asyncio.run(create_database(server, "mc2cm_bench"))
            try:
                asyncio.run(run(database_url, redis or stack.redis_url, args.recipients))  # type: ignore[union-attr]
            finally:
                asyncio.run(drop_database(database_url))
        finally:
            if stack is not None:
                stack.close()


if __name__ == "__main__":
    main()
