"""Changes of an event told to its participants: only to people registered by the change, a
burst of changes in one e-mail each once it pauses (keyed by its last change, showing the
event as it is then), a cancellation at once and never merged with changes still waiting."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.changes import from_ms, to_ms
from services.dialogue_api.notifications.emails import (
    on_event_changed,
    tell_event_changes,
    tell_overdue_event_changes,
)
from services.dialogue_api.notifications.models import EventChangeNotice, Notification
from services.worker.app import open_worker
from shared.auth import Role
from shared.contracts.events import OutboxEvent
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.notifying import smtp, subjects, until_settled
from tests.worker.receivers import SmtpSink

#: Nothing an earlier test of the module left is the worker's to do (``quiet``).
pytestmark = pytest.mark.usefixtures("quiet")

ADMIN = Role.admin
#: Longer than any pause between the writes of a burst on a loaded machine.
BURST_DEBOUNCE_SECONDS = 3.0


class Editor:
    """Changes one event through the API as an administrator, each with the ETag of the last."""

    def __init__(self, platform: Platform, event: dict[str, Any]) -> None:
        self.platform = platform
        self.event = event
        self.etag = f'"{event["version"]}"'

    async def change(self, **fields: Any) -> dict[str, Any]:
        response = await self.platform.dialogue.patch(
            f"/v1/events/{self.event['id']}",
            role=ADMIN,
            headers={"If-Match": self.etag},
            json=fields,
        )
        assert response.status_code == 200, response.text
        self.etag = response.headers["ETag"]
        changed: dict[str, Any] = response.json()
        return changed


async def changes_of(database: Database, event_id: int) -> list[OutboxEvent]:
    """The ``event.changed`` outbox events of the event's changes (not its creation), in the
    order they were written."""
    async with database.sessionmaker() as session:
        envelopes = await session.scalars(
            select(dialogue_outbox.c.envelope)
            .where(
                dialogue_outbox.c.type == "event.changed",
                dialogue_outbox.c.envelope["data"]["event_id"].as_integer() == event_id,
            )
            .order_by(dialogue_outbox.c.position)
        )
        events = [OutboxEvent.model_validate(envelope) for envelope in envelopes]
    return [event for event in events if not event.data.get("created")]


async def change_mails(database: Database, person_id: int) -> list[Notification]:
    """The ``event.changed`` e-mails claimed for the person, oldest first."""
    async with database.sessionmaker() as session:
        found = await session.scalars(
            select(Notification)
            .where(Notification.person_id == person_id, Notification.event_type == "event.changed")
            .order_by(Notification.id)
        )
        return list(found)


async def notice_of(database: Database, event_id: int) -> EventChangeNotice | None:
    async with database.sessionmaker() as session:
        return await session.get(EventChangeNotice, event_id)


def changed_mail(sink: SmtpSink, person: dict[str, Any]) -> EmailMessage:
    mails = [m for m in sink.to(person["email"]) if str(m["Subject"]).startswith("Changed")]
    assert len(mails) == 1, subjects(sink, person)
    return mails[0]


def vevent_of(message: EmailMessage) -> Any:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            (vevent,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
            return vevent
    raise AssertionError(f"no calendar in {message['Subject']}")


async def test_people_who_registered_after_a_change_are_not_told_of_it(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    event = await create_event(platform.dialogue, title={"en": "Housing roundtable"})
    before = await create_person(platform.dialogue)
    after = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], before["id"])
    await Editor(platform, event).change(venue="Dar Lasram, Tunis")
    # Registered once the event had moved: the confirmation shows the new venue already.
    await register(platform.dialogue, event["id"], after["id"])

    async with platform.worker(**smtp(sink)):
        await eventually(lambda: len(sink.to(before["email"])) == 2)
        await until_settled(quiet)

    assert subjects(sink, after) == ["Registration confirmed: Housing roundtable"], subjects(
        sink, after
    )
    assert str(vevent_of(changed_mail(sink, before))["LOCATION"]) == "Dar Lasram, Tunis"


async def test_a_burst_of_changes_is_told_once_per_person_keyed_by_its_last_change(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    event = await create_event(platform.dialogue, title={"en": "Housing roundtable"})
    first = await create_person(platform.dialogue)
    between = await create_person(platform.dialogue)
    late = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], first["id"])
    editor = Editor(platform, event)

    async with platform.worker(**smtp(sink), event_change_debounce_seconds=BURST_DEBOUNCE_SECONDS):
        await eventually(lambda: sink.to(first["email"]))
        await editor.change(venue="Dar Lasram, Tunis")
        # Registered after the first change and before the last: told of the last.
        await register(platform.dialogue, event["id"], between["id"])
        await editor.change(starts_at="2027-03-10T10:00:00+01:00")
        await editor.change(title={"en": "Housing roundtable, second day"})  # tells nobody
        final = await editor.change(venue="Palais des Congrès, Tunis")
        await register(platform.dialogue, event["id"], late["id"])
        await eventually(lambda: len(sink.to(between["email"])) == 2)
        await until_settled(quiet)

    last_change = (await changes_of(quiet, event["id"]))[-1]
    for person in (first, between):
        vevent = vevent_of(changed_mail(sink, person))
        # The event as it is after the burst, not as any one change left it.
        assert str(vevent["LOCATION"]) == "Palais des Congrès, Tunis", vevent
        assert vevent["DTSTART"].dt.isoformat() == "2027-03-10T10:00:00+01:00", vevent
        assert vevent["SEQUENCE"] == final["version"], vevent
        (logged,) = await change_mails(quiet, person["id"])
        assert logged.outbox_event_id == last_change.id, (logged.delivery_key, last_change.id)
        assert logged.delivery_key == f"{last_change.id}:email:person:{person['id']}"
    assert subjects(sink, first)[0] == "Registration confirmed: Housing roundtable"
    assert subjects(sink, late) == ["Registration confirmed: Housing roundtable, second day"]


async def test_a_cancellation_goes_at_once_and_changes_still_waiting_are_not_sent(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    event = await create_event(platform.dialogue, title={"en": "Housing roundtable"})
    person = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], person["id"])
    editor = Editor(platform, event)
    # Changes wait a minute to be told: the cancellation must not wait for them.
    async with platform.worker(**smtp(sink), event_change_debounce_seconds=60):
        await eventually(lambda: sink.to(person["email"]))
        await editor.change(venue="Dar Lasram, Tunis")
        await editor.change(status="cancelled")
        await eventually(lambda: len(sink.to(person["email"])) == 2, timeout=15)

    assert subjects(sink, person)[1] == "Cancelled: Housing roundtable", subjects(sink, person)
    notice = await notice_of(quiet, event["id"])
    assert notice is not None and notice.due_at is not None, notice
    # When the change falls due, the event is cancelled: nothing more is said.
    async with open_worker(platform.settings.model_copy(update=smtp(sink))) as worker:
        outcome = await tell_event_changes(worker, event["id"], to_ms(notice.due_at))
    assert outcome == "nothing to tell: the event is removed, cancelled or held", outcome
    assert await change_mails(quiet, person["id"]) == []
    waiting = await notice_of(quiet, event["id"])
    assert waiting is not None and waiting.due_at is None, waiting


async def test_changes_handled_again_after_they_were_told_tell_nobody_twice(
    platform: Platform, quiet: Database
) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], person["id"])
    editor = Editor(platform, event)
    await editor.change(venue="Dar Lasram, Tunis")
    await editor.change(venue="Palais des Congrès, Tunis")
    first, second = await changes_of(quiet, event["id"])

    async with open_worker(platform.settings) as worker:
        # Handled out of order, the second change once more: one burst, keyed by the last.
        for change in (second, first, second):
            await on_event_changed(worker, change)
        notice = await notice_of(quiet, event["id"])
        assert notice is not None and notice.due_at is not None
        assert notice.last_change_id == second.id, (notice.last_change_id, second.id)
        outcome = await tell_event_changes(worker, event["id"], to_ms(notice.due_at))
        assert outcome == f"1 told of change {second.id}", outcome
        # Delivered again (at least once), after the burst was told: nothing new.
        for change in (first, second):
            await on_event_changed(worker, change)
        told = await notice_of(quiet, event["id"])
        assert told is not None and told.due_at is None, told.due_at
        assert await tell_event_changes(worker, event["id"], to_ms(notice.due_at)) == (
            "superseded by a later change, or told already"
        )

    (mail,) = await change_mails(quiet, person["id"])
    assert mail.delivery_key == f"{second.id}:email:person:{person['id']}", mail.delivery_key


async def test_a_burst_whose_job_was_lost_is_told_by_the_sweep(
    platform: Platform, quiet: Database
) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], person["id"])
    await Editor(platform, event).change(ends_at="2027-03-12T17:00:00+01:00")
    (change,) = await changes_of(quiet, event["id"])

    # No worker runs the job the handler enqueues: as if Redis had lost it.
    async with open_worker(platform.settings) as worker:
        await on_event_changed(worker, change)
        notice = await notice_of(quiet, event["id"])
        assert notice is not None and notice.due_at is not None
        assert notice.due_at == from_ms(to_ms(notice.due_at)), "due times are whole ms"
        # Not yet overdue: left to its job.
        assert await tell_overdue_event_changes(worker, notice.due_at) == 0
        later = notice.due_at + timedelta(minutes=2)
        assert await tell_overdue_event_changes(worker, later) == 1

    (mail,) = await change_mails(quiet, person["id"])
    assert mail.outbox_event_id == change.id


async def test_a_change_of_an_event_removed_before_it_was_handled_tells_nobody(
    platform: Platform, quiet: Database
) -> None:
    event = await create_event(platform.dialogue)
    await Editor(platform, event).change(venue="Dar Lasram, Tunis")
    (change,) = await changes_of(quiet, event["id"])
    removed = await platform.dialogue.delete(f"/v1/events/{event['id']}", role=ADMIN)
    assert removed.status_code == 204, removed.text

    async with open_worker(platform.settings) as worker:
        await on_event_changed(worker, change)
    assert await notice_of(quiet, event["id"]) is None
