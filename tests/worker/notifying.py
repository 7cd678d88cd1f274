"""What the notification tests of the worker share: a quiet start, a way to know the worker
has nothing left to do, the settings of a test SMTP sink."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.models import EventChangeNotice, Notification
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.profiles_api.db import outbox as profiles_outbox
from shared.db import Database
from tests.waiting import eventually
from tests.worker.receivers import SmtpSink

_OUTBOXES = (dialogue_outbox, profiles_outbox)


async def quieten(database: Database) -> None:
    """Leave nothing of an earlier test of the module to the worker: no subscription, no
    delivery pending, no event's changes waiting to be told, no event unhandled."""
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Notification)
            .where(Notification.status == "pending")
            .values(status="skipped", last_error="left by an earlier test")
        )
        await session.execute(delete(WebhookSubscription))
        await session.execute(update(EventChangeNotice).values(due_at=None))
        for table in _OUTBOXES:
            await session.execute(
                update(table)
                .where(table.c.handled_at.is_(None))
                .values(relayed_at=func.now(), handled_at=func.now())
            )


async def settled(database: Database) -> bool:
    """Nothing left for the worker to do: every outbox event handled, no event's changes
    waiting to be told, no delivery pending. Every mail that what the test did causes has
    then reached the sink (it keeps a message before answering, the worker records it sent
    after that answer), so no duplicate can show any more."""
    async with database.sessionmaker() as session:
        unhandled = [
            await session.scalar(select(func.count()).where(table.c.handled_at.is_(None)))
            for table in _OUTBOXES
        ]
        waiting = await session.scalar(
            select(func.count()).where(EventChangeNotice.due_at.is_not(None))
        )
        pending = await session.scalar(select(func.count()).where(Notification.status == "pending"))
    return not any(unhandled) and not waiting and not pending


async def until_settled(database: Database, *, timeout: float = 15) -> None:
    """Wait until ``settled``."""
    await eventually(
        lambda: settled(database),
        timeout=timeout,
        message="the worker having nothing left to do",
    )


def smtp(sink: SmtpSink) -> dict[str, Any]:
    """The settings that send the worker's mails to ``sink``."""
    return {"smtp_host": "127.0.0.1", "smtp_port": sink.port}


def subjects(sink: SmtpSink, person: dict[str, Any]) -> list[str]:
    """The subjects of the mails ``sink`` took for ``person``, in order."""
    return [str(message["Subject"]) for message in sink.to(person["email"])]
