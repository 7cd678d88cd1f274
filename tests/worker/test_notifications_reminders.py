"""Reminders a week and a day before events, and a week before and on the day actions are due:
each sent once, only to whom they concern, whenever the cron job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import func, update

from services.dialogue_api.actions.models import Action
from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.reminders import send_reminders
from services.dialogue_api.registrations.models import Registration
from services.worker.app import open_worker
from shared.auth import Role
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.notifying import subjects
from tests.worker.receivers import SmtpSink

ADMIN = Role.admin
TUNIS = ZoneInfo("Africa/Tunis")


@pytest.fixture
async def database(platform: Platform) -> AsyncIterator[Database]:
    """The module's database, where what is there already (the demo story, earlier tests)
    reminds nobody: the counts of reminders a test sees are its own."""
    database = Database.from_settings(platform.settings, application_name="test-reminders")
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(dialogue_outbox)
            .where(dialogue_outbox.c.handled_at.is_(None))
            .values(relayed_at=func.now(), handled_at=func.now())
        )
        await session.execute(update(Action).values(status="cancelled"))
        await session.execute(update(Registration).values(status="cancelled"))
    try:
        yield database
    finally:
        await database.dispose()


async def test_registered_people_are_reminded_a_week_and_a_day_before_an_event_once(
    platform: Platform, sink: SmtpSink, database: Database
) -> None:
    starts = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    event = await create_event(
        platform.dialogue,
        title={"en": "Housing roundtable"},
        starts_at=starts.isoformat(),
        ends_at=(starts + timedelta(hours=8)).isoformat(),
    )
    early = await create_person(platform.dialogue)
    late = await create_person(platform.dialogue)
    gone = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], early["id"])
    late_registration = await register(platform.dialogue, event["id"], late["id"])
    gone_registration = await register(platform.dialogue, event["id"], gone["id"])
    response = await platform.dialogue.patch(
        f"/v1/events/{event['id']}/registrations/{gone_registration['id']}",
        role=ADMIN,
        headers={"If-Match": f'"{gone_registration["version"]}"'},
        json={"status": "cancelled"},
    )
    assert response.status_code == 200, response.text
    # `late` registered five days before the event, after the week-before reminder's time.
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Registration)
            .where(Registration.id == late_registration["id"])
            .values(status_changed_at=starts - timedelta(days=5))
        )

    async with (
        platform.worker(smtp_host="127.0.0.1", smtp_port=sink.port) as settings,
        open_worker(settings) as worker,
    ):
        # The confirmations first, so that the reminders below are all that is new.
        await eventually(lambda: all(sink.to(p["email"]) for p in (early, late, gone)))
        assert await send_reminders(worker, now=starts - timedelta(days=7, hours=1)) == 0

        week_before = starts - timedelta(days=7) + timedelta(hours=1)
        assert await send_reminders(worker, now=week_before) == 1
        await eventually(lambda: len(sink.to(early["email"])) == 2)
        # However often the cron job runs, a reminder is claimed once.
        assert await send_reminders(worker, now=week_before) == 0
        assert await send_reminders(worker, now=week_before + timedelta(hours=2)) == 0

        day_before = starts - timedelta(days=1) + timedelta(minutes=5)
        assert await send_reminders(worker, now=day_before) == 2
        await eventually(lambda: len(sink.to(early["email"])) == 3)
        await eventually(lambda: len(sink.to(late["email"])) == 2)
        assert await send_reminders(worker, now=day_before) == 0

    assert subjects(sink, early) == [
        "Registration confirmed: Housing roundtable",
        "In a week: Housing roundtable",
        "Tomorrow: Housing roundtable",
    ]
    assert subjects(sink, late) == [
        "Registration confirmed: Housing roundtable",
        "Tomorrow: Housing roundtable",
    ]
    # Both announced before the worker started, so handled side by side, in either order.
    assert sorted(subjects(sink, gone)) == [
        "Registration cancelled: Housing roundtable",
        "Registration confirmed: Housing roundtable",
    ]
    response = await platform.dialogue.get(
        f"/v1/notifications?event_type=reminder.event&person={early['id']}", role=ADMIN
    )
    reminders = response.json()["items"]
    assert [(r["status"], r["outbox_event_id"]) for r in reminders] == [("sent", None)] * 2


async def an_action(
    platform: Platform, owner: dict[str, Any], due_on: date, **fields: Any
) -> dict[str, Any]:
    event = await create_event(platform.dialogue)
    response = await platform.dialogue.post(
        "/v1/recommendations",
        role=ADMIN,
        json={
            "event": event["id"],
            "theme": "housing",
            "text": {"en": "Open a desk."},
            "target_cities": ["TNTUN"],
            "governance_level": "local",
        },
    )
    assert response.status_code == 201, response.text
    response = await platform.dialogue.post(
        f"/v1/recommendations/{response.json()['id']}/actions",
        role=ADMIN,
        json={
            "city": "TNTUN",
            "owner": owner["id"],
            "title": {"en": "Open the newcomers' desk", "fr": "Ouvrir le guichet"},
            "due_on": due_on.isoformat(),
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def in_tunis(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TUNIS)


async def test_owners_are_reminded_a_week_before_and_on_the_day_an_action_is_due(
    platform: Platform, sink: SmtpSink, database: Database
) -> None:
    due_on = datetime.now(TUNIS).date() + timedelta(days=10)
    owner = await create_person(platform.dialogue, city="TNTUN", role="expert", languages=["fr"])
    late_owner = await create_person(platform.dialogue, city="TNTUN", role="expert")
    done_owner = await create_person(platform.dialogue, city="TNTUN", role="expert")
    await an_action(platform, owner, due_on)
    late = await an_action(platform, late_owner, due_on)
    await an_action(platform, done_owner, due_on, status="done")
    # The late action was recorded three days before it is due.
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Action)
            .where(Action.id == late["id"])
            .values(created_at=in_tunis(due_on - timedelta(days=3), 9))
        )

    async with (
        platform.worker(smtp_host="127.0.0.1", smtp_port=sink.port) as settings,
        open_worker(settings) as worker,
    ):
        people = (owner, late_owner, done_owner)
        await eventually(lambda: all(sink.to(p["email"]) for p in people))  # "Action of Tunis"

        # The day before the week-before mark, in Tunis, it is too early.
        assert await send_reminders(worker, now=in_tunis(due_on - timedelta(days=8), 23)) == 0
        week_before = in_tunis(due_on - timedelta(days=7), 0) + timedelta(minutes=5)
        assert await send_reminders(worker, now=week_before) == 1
        assert await send_reminders(worker, now=week_before + timedelta(days=2)) == 0
        await eventually(lambda: len(sink.to(owner["email"])) == 2)

        on_the_day = in_tunis(due_on, 8)
        assert await send_reminders(worker, now=on_the_day) == 2
        assert await send_reminders(worker, now=on_the_day) == 0
        await eventually(lambda: len(sink.to(owner["email"])) == 3)
        await eventually(lambda: len(sink.to(late_owner["email"])) == 2)
        # The day after, nothing more: the reminders are behind.
        assert await send_reminders(worker, now=in_tunis(due_on + timedelta(days=1), 8)) == 0

    # The date as French writes it (Babel's CLDR data), e.g. "15 décembre 2026".
    day = format_date(due_on, format="long", locale="fr")
    assert subjects(sink, owner)[1:] == [
        "Échéance dans une semaine : Ouvrir le guichet",
        "Échéance aujourd'hui : Ouvrir le guichet",
    ]
    assert f"arrive à échéance le {day}, dans une semaine" in (
        sink.to(owner["email"])[1].get_body().get_content()
    )
    assert subjects(sink, late_owner)[1:] == ["Due today: Open the newcomers' desk"]
    assert len(sink.to(done_owner["email"])) == 1
