"""P5, notification fan-out: the worker's CPU per e-mail delivered against its CPU per arq job.

In one run, on the same PostgreSQL and Redis: claims N rendered e-mails (each with its event
calendar attached, as a confirmation has) to N people (10,000; ``--quick``: 1,000), then
runs the real worker (``build_worker``, as ``mc2cm worker`` does) in burst mode until every
one is delivered to a local aiosmtpd server (a process of its own, so it takes no CPU from
the worker's); beside it, the same worker settings run N arq jobs that do nothing. Every
delivery must end ``sent``.

The figure is CPU time, not wall-clock time: the worker's CPU per delivered e-mail against
its CPU per no-op job (target: at most twice). The sink shares the machine's cores, so the
wall-clock rates (in the notes, with the sink's own CPU per mail and its ceiling over one
SMTP connection, no worker) are bounded by the sink as much as by the worker.

    .venv/bin/python -m bench.p5_fanout [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
from arq.worker import Worker, func
from sqlalchemy import func as sql
from sqlalchemy import select

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from services.cli.runtime import migrate_all
from services.dialogue_api.events.models import Event
from services.dialogue_api.notifications.calendar import Invitations, Method
from services.dialogue_api.notifications.claims import enqueue_deliveries
from services.dialogue_api.notifications.mail import build_message
from services.dialogue_api.notifications.messages import event_fields, mail_to
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.service import claim_deliveries
from services.dialogue_api.notifications.templates import Kind
from services.dialogue_api.people.models import Person
from services.worker.app import build_worker, open_worker
from services.worker.context import WorkerContext
from shared.settings import Environment, Settings, to_libpq_url
from tests.worker.receivers import free_port

SECRET = "bench-secret-" + "x" * 40
#: aiosmtpd's handler that accepts every message and keeps none.
SINK = "aiosmtpd.handlers.Sink"


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def smtp_server(port: int) -> Iterator[int]:
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
        yield server.pid
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
    await enqueue_deliveries(worker, scheduled)
    return time.perf_counter() - started


async def deliver_all(worker: WorkerContext, sink: int) -> tuple[float, float, float]:
    """Run the worker in burst mode until the queue is empty; the seconds it took, and the
    CPU seconds of the worker (this process) and of the SMTP sink meanwhile."""
    arq = build_worker(worker, burst=True, poll_delay=0, cron_jobs=[])
    started, cpu, sink_cpu = time.perf_counter(), time.process_time(), cpu_seconds(sink)
    await arq.main()
    return (
        time.perf_counter() - started,
        time.process_time() - cpu,
        cpu_seconds(sink) - sink_cpu,
    )


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def noop_jobs(worker: WorkerContext, count: int) -> tuple[float, float]:
    """N jobs that do nothing, through the same worker settings; the seconds they took and
    the CPU seconds of the worker."""
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
    started, cpu = time.perf_counter(), time.process_time()
    await arq.main()
    return time.perf_counter() - started, time.process_time() - cpu


async def sink_ceiling(worker: WorkerContext, count: int) -> float:
    """``count`` copies of a claimed e-mail sent to the sink over one SMTP connection, no
    database and no queue; the seconds it took (the sink's ceiling, and aiosmtplib's)."""
    async with worker.database.sessionmaker() as session:
        row = await session.scalar(select(Notification).limit(1))
    assert row is not None
    message = build_message(row, sender=worker.settings.mail_from)
    client = aiosmtplib.SMTP(hostname=worker.settings.smtp_host, port=worker.settings.smtp_port)
    started = time.perf_counter()
    async with client:
        for _ in range(count):
            await client.send_message(message)
    return time.perf_counter() - started


async def run(env: BenchEnv, recipients: int) -> dict[str, float]:
    """The seconds of each phase for ``recipients`` e-mails."""
    async with env.database("mc2cm_bench_p5") as database_url:
        await migrate_all(database_url)
        person_ids = await add_people(database_url, recipients)
        port = free_port()
        settings = Settings(
            environment=Environment.test,
            database_url=database_url,
            redis_url=env.redis_url,
            jwt_secret=SECRET,
            queue_name=f"bench-{uuid.uuid4().hex[:8]}",
            smtp_host="127.0.0.1",
            smtp_port=port,
        )
        with smtp_server(port) as sink_pid:
            async with open_worker(settings, name="bench") as worker:
                try:
                    claimed = await claim(worker, person_ids)
                    delivered, worker_cpu, sink_cpu = await deliver_all(worker, sink_pid)
                    baseline, noop_cpu = await noop_jobs(worker, recipients)
                    sink = await sink_ceiling(worker, min(recipients, 2000))
                    async with worker.database.sessionmaker() as session:
                        sent = await session.scalar(
                            select(sql.count()).where(Notification.status == "sent")
                        )
                finally:
                    # The queues and whatever their jobs left (results, in-progress keys).
                    keys = [
                        key
                        async for key in worker.redis.scan_iter(
                            f"*{settings.queue_name}*", count=1000
                        )
                    ]
                    if keys:
                        await worker.redis.delete(*keys)
    assert sent == recipients, f"{sent} of {recipients} deliveries sent"
    return {
        "claim": claimed,
        "deliver": delivered,
        "noop": baseline,
        "sink": sink / min(recipients, 2000) * recipients,
        "worker_cpu": worker_cpu,
        "sink_cpu": sink_cpu,
        "noop_cpu": noop_cpu,
    }


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    recipients = 1_000 if quick else 10_000
    seconds = asyncio.run(run(env, recipients))
    rate = {phase: recipients / spent for phase, spent in seconds.items()}
    per_mail = {phase: spent / recipients * 1000 for phase, spent in seconds.items()}
    return [
        Figure(
            key="P5",
            name=f"worker CPU per e-mail delivered to a local SMTP sink ({recipients:,})",
            ours=per_mail["worker_cpu"],
            raw=per_mail["noop_cpu"],
            unit="ms CPU",
            target=2.0,
            better="lower",
            baseline="worker CPU per arq no-op job, same Redis and worker settings",
            notes=[
                f"delivered {rate['deliver']:,.0f} mails/s against {rate['noop']:,.0f} "
                f"no-op jobs/s (throughput ratio {rate['deliver'] / rate['noop']:.2f}; "
                "the sink shares the cores)",
                f"sink CPU {per_mail['sink_cpu']:.2f} ms per mail, "
                f"its ceiling {rate['sink']:,.0f} mails/s over one connection",
                f"claims {rate['claim']:,.0f}/s (rendered, with calendar)",
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 recipients, not 10,000")
    args = parser.parse_args()
    with bench_env() as env:
        print_figures(measure(env, args.quick))


if __name__ == "__main__":
    main()
