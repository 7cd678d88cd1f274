"""A worker killed with SIGKILL in the middle of sending an e-mail: the next worker sends it,
and it is delivered once.

The workers are real ``mc2cm worker`` processes. The SMTP server holds the first message in
the middle of its conversation (after DATA, before answering), which is when the first
worker is killed; the message was not accepted, so the one the second worker sends is the
only one the server ever accepts.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.tasks import deliver_notification
from services.worker.app import open_worker
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.processes import start_worker_process
from tests.worker.receivers import SmtpSink


@pytest.fixture
async def database(platform: Platform) -> AsyncIterator[Database]:
    database = Database.from_settings(platform.settings, application_name="test-crash")
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(dialogue_outbox)
            .where(dialogue_outbox.c.handled_at.is_(None))
            .values(relayed_at=func.now(), handled_at=func.now())
        )
    try:
        yield database
    finally:
        await database.dispose()


async def start_worker(platform: Platform, sink: SmtpSink, log: Path) -> asyncio.subprocess.Process:
    return await start_worker_process(
        platform, sink, log, MC2CM_JOB_TIMEOUT_SECONDS="5", MC2CM_LOG_LEVEL="WARNING"
    )


async def the_delivery(database: Database, address: str) -> Notification | None:
    async with database.sessionmaker() as session:
        found: Notification | None = await session.scalar(
            select(Notification).where(Notification.recipient == address)
        )
        return found


async def unlocked(database: Database, notification_id: int) -> bool:
    """Whether no transaction holds the delivery's row (a dead worker's goes with it)."""
    async with database.sessionmaker() as session, session.begin():
        free = await session.scalar(
            select(Notification.id)
            .where(Notification.id == notification_id)
            .with_for_update(skip_locked=True)
        )
        return free is not None


async def test_a_worker_killed_while_sending_leaves_the_email_to_the_next_worker_once(
    platform: Platform, database: Database, tmp_path: Path
) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    log = tmp_path / "workers.log"
    with SmtpSink(stall_first=True) as sink:
        await register(platform.dialogue, event["id"], person["id"])
        first = await start_worker(platform, sink, log)
        try:
            await eventually(sink.stalled.is_set, timeout=15)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert first.returncode == -signal.SIGKILL, log.read_text()

        delivery = await the_delivery(database, person["email"])
        assert delivery is not None
        # The attempt that died was counted; the delivery waits, due, for the next one.
        assert (delivery.status, delivery.attempts, delivery.sent_at) == ("pending", 1, None)
        for _ in range(100):
            if await unlocked(database, delivery.id):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the killed worker's lock on the delivery was never released")

        second = await start_worker(platform, sink, log)
        try:
            await eventually(lambda: sink.to(person["email"]), timeout=15)

            async def recorded() -> Any:
                found = await the_delivery(database, person["email"])
                return found if found is not None and found.status == "sent" else None

            for _ in range(100):
                if done := await recorded():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the delivery was never recorded sent: {log.read_text()}")
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=15)

        assert done.attempts == 2, done
        assert done.last_error is None
        # The killed worker's job, run again by arq after its timeout, finds nothing to do.
        async with open_worker(platform.settings) as worker:
            assert await deliver_notification({"worker": worker}, done.id) == "nothing due"

        (message,) = sink.to(person["email"])
        assert message["Message-ID"] == f"<{done.message_id}@mc2cm>"
        # Two conversations reached DATA: the one cut short and the one accepted.
        assert sink.conversations == 2
        assert len(sink.messages) == 1, [m["Subject"] for m in sink.messages]
