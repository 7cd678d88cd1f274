"""Notifications end to end: changes made through the dialogue API reach a real SMTP server and
a real webhook receiver through the real worker, once each, in the reader's language, with
retries, backoff and the delivery log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.claims import enqueue_delivery
from services.dialogue_api.notifications.delivery import backoff
from services.dialogue_api.notifications.emails import on_registration_changed
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.repository import NotificationRepository, Scheduled
from services.dialogue_api.notifications.tasks import deliver_notification, enqueue_due
from services.dialogue_api.notifications.webhooks import on_outbox_event
from services.worker.app import open_worker
from services.worker.context import WorkerContext
from shared.auth import Role
from shared.contracts.events import OutboxEvent
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, register
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.notifying import smtp, until_settled
from tests.worker.receivers import SmtpSink, WebhookReceiver

#: Nothing an earlier test of the module left is the worker's to do (``quiet``).
pytestmark = pytest.mark.usefixtures("quiet")

ADMIN = Role.admin


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


async def subscribe(
    platform: Platform, receiver: WebhookReceiver, *event_types: str
) -> dict[str, Any]:
    """Subscribe the receiver through the API and give it the secret; the subscription."""
    response = await platform.dialogue.post(
        "/v1/webhooks",
        role=ADMIN,
        json={"url": receiver.url, "event_types": list(event_types), "description": "test"},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secret = created["secret"]
    return created


async def deliveries(platform: Platform, query: str) -> list[dict[str, Any]]:
    response = await platform.dialogue.get(f"/v1/notifications?limit=1000&{query}", role=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def calendar_of(message: EmailMessage) -> tuple[str, Calendar] | None:
    """The iTIP method and parsed calendar attached to ``message``, if any."""
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            method = part.get_param("method")
            assert isinstance(method, str), part
            return method, Calendar.from_ical(part.get_content())
    return None


def only(messages: list[EmailMessage]) -> EmailMessage:
    assert len(messages) == 1, [m["Subject"] for m in messages]
    return messages[0]


async def test_registering_a_person_sends_one_email_with_the_event_and_one_signed_webhook(
    platform: Platform, sink: SmtpSink, receiver: WebhookReceiver, quiet: Database
) -> None:
    subscription = await subscribe(platform, receiver, "registration.changed")
    event = await create_event(platform.dialogue, title={"en": "Housing roundtable"})
    person = await create_person(platform.dialogue, languages=["en"])

    async with platform.worker(**smtp(sink)):
        registration = await register(platform.dialogue, event["id"], person["id"])

        async def both_sent() -> list[dict[str, Any]]:
            found = await deliveries(platform, "event_type=registration.changed")
            mine = [
                d
                for d in found
                if d["person"] == person["id"] or d["subscription"] == subscription["id"]
            ]
            return mine if len(mine) == 2 and all(d["status"] == "sent" for d in mine) else []

        logged = await eventually(both_sent)
        await until_settled(quiet)  # a duplicate would have shown by then

    message = only(sink.to(person["email"]))
    assert message["Subject"] == "Registration confirmed: Housing roundtable", message["Subject"]
    assert "Your place at Housing roundtable is confirmed." in message.get_body().get_content()
    attached = calendar_of(message)
    assert attached is not None, message
    method, calendar = attached
    assert method == "REQUEST"
    assert calendar["METHOD"] == "REQUEST"
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["UID"] == f"event-{event['id']}@mc2cm"
    assert str(vevent["ATTENDEE"]) == f"mailto:{person['email']}"
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"

    assert len(receiver.received) == 1, receiver.received
    (webhook,) = receiver.received
    assert webhook.verified
    assert webhook.payload["type"] == "registration.changed"
    assert webhook.payload["data"]["registration_id"] == registration["id"]

    by_channel = {d["channel"]: d for d in logged}
    assert by_channel["email"]["recipient"] == person["email"]
    assert by_channel["email"]["message_id"] == message["Message-ID"]
    assert by_channel["webhook"]["recipient"] == receiver.url
    assert by_channel["webhook"]["message_id"] == webhook.webhook_id
    assert by_channel["email"]["outbox_event_id"] == webhook.payload["id"]
    for delivery in logged:
        assert delivery["attempts"] == 1, delivery
        assert delivery["sent_at"] is not None and delivery["next_attempt_at"] is None


async def test_the_same_delivery_job_and_the_same_handler_run_twice_send_once(
    platform: Platform, sink: SmtpSink, receiver: WebhookReceiver, quiet: Database
) -> None:
    await subscribe(platform, receiver, "registration.changed")
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], person["id"])
    async with quiet.sessionmaker() as session:
        envelope = await session.scalar(
            select(dialogue_outbox.c.envelope)
            .where(dialogue_outbox.c.type == "registration.changed")
            .order_by(dialogue_outbox.c.position.desc())
            .limit(1)
        )
    outbox_event = OutboxEvent.model_validate(envelope)

    settings = platform.settings.model_copy(update=smtp(sink))
    async with open_worker(settings) as worker:
        # The event handled twice, twice at once: one claim per recipient.
        for _ in range(2):
            await asyncio.gather(
                on_registration_changed(worker, outbox_event),
                on_registration_changed(worker, outbox_event),
                on_outbox_event(worker, outbox_event),
                on_outbox_event(worker, outbox_event),
            )
        rows = await claimed(worker, outbox_event)
        assert sorted(row.channel for row in rows) == ["email", "webhook"], rows

        # Each delivery's job run twice at once, then again: one send each.
        ctx = {"worker": worker}
        for row in rows:
            first, second = await asyncio.gather(
                deliver_notification(ctx, row.id), deliver_notification(ctx, row.id)
            )
            assert sorted([first, second]) == ["nothing due", "sent at attempt 1"], (first, second)
            assert await deliver_notification(ctx, row.id) == "nothing due"

        rows = await claimed(worker, outbox_event)
        assert [(row.status, row.attempts) for row in rows] == [("sent", 1), ("sent", 1)]
        # The handlers enqueued the first attempt's job; enqueueing it again adds nothing.
        assert not await enqueue_delivery(worker, scheduled(rows[0]))

    assert len(sink.to(person["email"])) == 1, sink.messages
    assert len(receiver.received) == 1, receiver.received


async def claimed(worker: WorkerContext, outbox_event: OutboxEvent) -> list[Notification]:
    async with worker.database.sessionmaker() as session:
        found = await session.scalars(
            select(Notification)
            .where(Notification.outbox_event_id == outbox_event.id)
            .order_by(Notification.id)
        )
        return list(found)


def scheduled(row: Notification) -> Scheduled:
    return Scheduled(row.id, row.message_id, 0, row.next_attempt_at)


async def test_a_failing_receiver_is_retried_with_backoff_then_failed_and_disabled(
    platform: Platform, receiver: WebhookReceiver, quiet: Database
) -> None:
    receiver.status = 500
    subscription = await subscribe(platform, receiver, "event.changed", "event.cancelled")
    base = 0.3
    async with platform.worker(
        delivery_max_attempts=3, webhook_disable_after_failures=3, delivery_retry_base_seconds=base
    ):
        event = await create_event(platform.dialogue)

        async def given_up() -> list[dict[str, Any]]:
            found = await deliveries(platform, f"subscription={subscription['id']}")
            return found if found and found[0]["status"] == "failed" else []

        (delivery,) = await eventually(given_up)

    assert delivery["attempts"] == 3, delivery
    assert delivery["last_error"] == "HTTP 500 from the receiver", delivery
    assert delivery["outbox_event_id"] == receiver.received[0].payload["id"]
    # Three attempts of one message, each verified, each later than the last by the backoff.
    assert [r.webhook_id for r in receiver.received] == [delivery["message_id"]] * 3
    assert all(r.verified for r in receiver.received)
    first, second, third = (r.at for r in receiver.received)
    assert second - first >= base, (first, second)
    assert third - second >= 2 * base, (second, third)

    response = await platform.dialogue.get(f"/v1/webhooks/{subscription['id']}", role=ADMIN)
    disabled = response.json()
    assert disabled["active"] is False, disabled
    assert disabled["consecutive_failures"] == 3
    assert disabled["disabled_reason"] == "3 failed deliveries in a row"
    assert disabled["disabled_at"] is not None

    # A disabled subscription gets nothing new; enabled again, it gets the next event.
    async with platform.worker():
        response = await platform.dialogue.patch(
            f"/v1/events/{event['id']}",
            role=ADMIN,
            headers={"If-Match": f'"{event["version"]}"'},
            json={"venue": "Dar Lasram, Tunis"},
        )
        assert response.status_code == 200, response.text
        await until_settled(quiet)
    assert len(receiver.received) == 3
    assert len(await deliveries(platform, f"subscription={subscription['id']}")) == 1

    receiver.status = 200
    response = await platform.dialogue.patch(
        f"/v1/webhooks/{subscription['id']}",
        role=ADMIN,
        headers={"If-Match": f'"{disabled["version"]}"'},
        json={"active": True},
    )
    assert response.status_code == 200, response.text
    enabled = response.json()
    assert (enabled["active"], enabled["consecutive_failures"], enabled["disabled_at"]) == (
        True,
        0,
        None,
    )
    async with platform.worker():
        await platform.dialogue.patch(
            f"/v1/events/{event['id']}",
            role=ADMIN,
            headers={"If-Match": f'"{event["version"] + 1}"'},
            json={"status": "cancelled"},
        )
        await eventually(lambda: len(receiver.received) == 4)
    assert receiver.received[-1].payload["type"] == "event.cancelled"


async def test_a_success_after_a_failure_starts_the_failure_count_again(
    platform: Platform, receiver: WebhookReceiver
) -> None:
    receiver.status = 503
    subscription = await subscribe(platform, receiver, "event.changed")
    async with platform.worker(delivery_retry_base_seconds=0.5, webhook_disable_after_failures=5):
        await create_event(platform.dialogue)
        await eventually(lambda: len(receiver.received) == 1)
        receiver.status = 200

        async def sent() -> list[dict[str, Any]]:
            found = await deliveries(platform, f"subscription={subscription['id']}&status=sent")
            return found

        (delivery,) = await eventually(sent)

    assert delivery["attempts"] == 2, delivery
    assert delivery["last_error"] == "HTTP 503 from the receiver", delivery
    response = await platform.dialogue.get(f"/v1/webhooks/{subscription['id']}", role=ADMIN)
    assert response.json()["consecutive_failures"] == 0, response.json()
    assert response.json()["active"] is True


async def test_each_person_is_written_to_in_the_first_of_their_languages_with_templates(
    platform: Platform, sink: SmtpSink
) -> None:
    event = await create_event(
        platform.dialogue, title={"en": "Housing roundtable", "fr": "Table ronde logement"}
    )
    people = {
        "fr": await create_person(platform.dialogue, languages=["pt", "fr", "en"]),
        "ar": await create_person(platform.dialogue, languages=["ar", "fr"]),
        "en": await create_person(platform.dialogue, languages=["de", "it"]),
        "regional": await create_person(platform.dialogue, languages=["fr-CA"]),
    }
    async with platform.worker(**smtp(sink)):
        for person in people.values():
            await register(platform.dialogue, event["id"], person["id"])
        await eventually(lambda: all(sink.to(p["email"]) for p in people.values()))

    french = only(sink.to(people["fr"]["email"]))
    assert french["Subject"] == "Inscription confirmée : Table ronde logement"
    assert french["Content-Language"] == "fr"
    assert "Votre place à « Table ronde logement » est confirmée." in (
        french.get_body().get_content()
    )
    arabic = only(sink.to(people["ar"]["email"]))
    assert arabic["Subject"] == "تأكيد التسجيل: Housing roundtable"
    assert arabic["Content-Language"] == "ar"
    english = only(sink.to(people["en"]["email"]))
    assert english["Subject"] == "Registration confirmed: Housing roundtable"
    regional = only(sink.to(people["regional"]["email"]))
    assert regional["Content-Language"] == "fr"
    # The calendar speaks the mail's language too.
    attached = calendar_of(french)
    assert attached is not None
    (vevent,) = attached[1].walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Table ronde logement"


async def test_a_cancelled_event_tells_everyone_concerned_with_a_cancel_for_their_calendar(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    event = await create_event(platform.dialogue, capacity=1)
    registered = await create_person(platform.dialogue)
    waiting = await create_person(platform.dialogue)
    invited = await create_person(platform.dialogue)
    await register(platform.dialogue, event["id"], registered["id"])
    await register(platform.dialogue, event["id"], waiting["id"])
    await register(platform.dialogue, event["id"], invited["id"], status="invited")

    people = (registered, waiting, invited)
    async with platform.worker(**smtp(sink)):
        # Each is told of their registration first; the changes come after.
        await eventually(lambda: all(len(sink.to(p["email"])) == 1 for p in people))
        response = await platform.dialogue.patch(
            f"/v1/events/{event['id']}",
            role=ADMIN,
            headers={"If-Match": f'"{event["version"]}"'},
            json={"title": {"en": "Renamed meeting"}},
        )
        assert response.status_code == 200, response.text
        moved = await platform.dialogue.patch(
            f"/v1/events/{event['id']}",
            role=ADMIN,
            headers={"If-Match": response.headers["ETag"]},
            json={"venue": "Dar Lasram, Tunis"},
        )
        assert moved.status_code == 200, moved.text
        # The change is told once it has paused; the cancellation after it at once.
        await eventually(lambda: all(len(sink.to(p["email"])) == 2 for p in people))
        cancelled = await platform.dialogue.patch(
            f"/v1/events/{event['id']}",
            role=ADMIN,
            headers={"If-Match": moved.headers["ETag"]},
            json={"status": "cancelled"},
        )
        assert cancelled.status_code == 200, cancelled.text
        await eventually(lambda: all(len(sink.to(p["email"])) == 3 for p in people))
        await until_settled(quiet)

    subjects = [m["Subject"] for m in sink.to(registered["email"])]
    # The new title tells nobody; the new venue and the cancellation do.
    assert sorted(subjects) == [
        "Cancelled: Renamed meeting",
        "Changed: Renamed meeting",
        "Registration confirmed: Technical meeting of focal points",
    ], subjects
    for person, with_calendar in ((registered, True), (invited, True), (waiting, False)):
        (mail,) = [m for m in sink.to(person["email"]) if m["Subject"].startswith("Cancelled")]
        attached = calendar_of(mail)
        assert (attached is not None) == with_calendar, mail
        if attached is not None:
            method, calendar = attached
            assert method == "CANCEL"
            (vevent,) = calendar.walk("VEVENT")
            assert vevent["STATUS"] == "CANCELLED"
            assert vevent["SEQUENCE"] == event["version"] + 3
        (change,) = [m for m in sink.to(person["email"]) if m["Subject"].startswith("Changed")]
        change_calendar = calendar_of(change)
        assert (change_calendar is not None) == with_calendar
        if change_calendar is not None:
            (vevent,) = change_calendar[1].walk("VEVENT")
            assert str(vevent["LOCATION"]) == "Dar Lasram, Tunis"
    invitation = only([m for m in sink.to(invited["email"]) if "Invitation" in m["Subject"]])
    attached = calendar_of(invitation)
    assert attached is not None and attached[0] == "REQUEST"
    (vevent,) = attached[1].walk("VEVENT")
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "NEEDS-ACTION"


async def test_a_place_freed_goes_to_the_waitlist_and_the_promoted_person_is_told(
    platform: Platform, sink: SmtpSink
) -> None:
    event = await create_event(platform.dialogue, capacity=1)
    first = await create_person(platform.dialogue)
    second = await create_person(platform.dialogue, languages=["fr"])
    async with platform.worker(**smtp(sink)):
        taken = await register(platform.dialogue, event["id"], first["id"])
        waiting = await register(platform.dialogue, event["id"], second["id"])
        assert waiting["status"] == "waitlisted", waiting
        await eventually(lambda: sink.to(second["email"]))
        response = await platform.dialogue.patch(
            f"/v1/events/{event['id']}/registrations/{taken['id']}",
            role=ADMIN,
            headers={"If-Match": f'"{taken["version"]}"'},
            json={"status": "cancelled"},
        )
        assert response.status_code == 200, response.text
        await eventually(lambda: len(sink.to(second["email"])) == 2)
        await eventually(lambda: len(sink.to(first["email"])) == 2)

    waitlisted, promoted = sink.to(second["email"])
    assert waitlisted["Subject"].startswith("Liste d'attente : "), waitlisted["Subject"]
    assert calendar_of(waitlisted) is None
    assert promoted["Subject"].startswith("Une place vous revient : "), promoted["Subject"]
    attached = calendar_of(promoted)
    assert attached is not None and attached[0] == "REQUEST"

    confirmed, cancelled = sink.to(first["email"])
    assert confirmed["Subject"].startswith("Registration confirmed: "), confirmed["Subject"]
    assert cancelled["Subject"].startswith("Registration cancelled: "), cancelled["Subject"]
    attached = calendar_of(cancelled)
    assert attached is not None and attached[0] == "CANCEL"


async def test_focal_points_who_consented_hear_of_recommendations_to_their_city_once(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    event = await create_event(platform.dialogue)
    reachable = await create_person(platform.dialogue, city="TNTUN", consent_contact=True)
    private = await create_person(platform.dialogue, city="TNTUN", consent_contact=False)
    expert = await create_person(
        platform.dialogue, city="TNTUN", role="expert", consent_contact=True
    )
    async with platform.worker(**smtp(sink)):
        response = await platform.dialogue.post(
            "/v1/recommendations",
            role=ADMIN,
            json={
                "event": event["id"],
                "theme": "housing",
                "text": {"en": "Open a one-stop desk for newcomers looking for housing."},
                "target_cities": ["TNTUN"],
                "governance_level": "local",
            },
        )
        assert response.status_code == 201, response.text
        recommendation = response.json()
        await eventually(lambda: sink.to(reachable["email"]))
        reworded = await platform.dialogue.patch(
            f"/v1/recommendations/{recommendation['id']}",
            role=ADMIN,
            headers={"If-Match": response.headers["ETag"]},
            json={"text": {"en": "Open a one-stop desk for all newcomers."}},
        )
        assert reworded.status_code == 200, reworded.text
        adopted = await platform.dialogue.patch(
            f"/v1/recommendations/{recommendation['id']}",
            role=ADMIN,
            headers={"If-Match": reworded.headers["ETag"]},
            json={"status": "adopted"},
        )
        assert adopted.status_code == 200, adopted.text
        await eventually(lambda: len(sink.to(reachable["email"])) == 2)
        await until_settled(quiet)

    new, changed = sink.to(reachable["email"])
    assert new["Subject"].startswith("Recommendation to Tunis: Housing"), new["Subject"]
    assert changed["Subject"] == "Recommendation adopted: Housing", changed["Subject"]
    assert "Open a one-stop desk for all newcomers." in changed.get_body().get_content()
    assert sink.to(private["email"]) == [] and sink.to(expert["email"]) == []


async def test_the_owner_of_an_action_is_told_of_its_changes(
    platform: Platform, sink: SmtpSink
) -> None:
    event = await create_event(platform.dialogue)
    owner = await create_person(platform.dialogue, city="TNTUN", role="expert")
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
    recommendation = response.json()
    async with platform.worker(**smtp(sink)):
        created = await platform.dialogue.post(
            f"/v1/recommendations/{recommendation['id']}/actions",
            role=ADMIN,
            json={
                "city": "TNTUN",
                "owner": owner["id"],
                "title": {"en": "Open the newcomers' desk"},
                "due_on": "2027-06-30",
            },
        )
        assert created.status_code == 201, created.text
        await eventually(lambda: sink.to(owner["email"]))

    mail = only(sink.to(owner["email"]))
    assert mail["Subject"] == "Action of Tunis: Open the newcomers' desk", mail["Subject"]
    assert "Due: June 30, 2027" in mail.get_body().get_content()


async def test_without_an_smtp_server_emails_are_recorded_skipped(platform: Platform) -> None:
    event = await create_event(platform.dialogue)
    person = await create_person(platform.dialogue)
    async with platform.worker(smtp_host=None):
        await register(platform.dialogue, event["id"], person["id"])

        async def skipped() -> list[dict[str, Any]]:
            found = await deliveries(platform, f"person={person['id']}&status=skipped")
            return found

        (delivery,) = await eventually(skipped)
    assert delivery["last_error"] == "no SMTP server is configured (MC2CM_SMTP_HOST)"
    assert delivery["attempts"] == 1


async def test_the_contacts_of_matched_exchanges_are_told_of_each_other(
    platform: Platform, sink: SmtpSink
) -> None:
    asking = await create_person(
        platform.dialogue, name="Amira Ben Salah", city="TNTUN", role="expert"
    )
    offering = await create_person(
        platform.dialogue,
        name="Claire Martin",
        city="FRLYS",
        role="expert",
        languages=["fr"],
        consent_contact=False,
    )

    async def exchange(kind: str, city: str, contact: int, title: str) -> dict[str, Any]:
        response = await platform.dialogue.post(
            "/v1/exchanges",
            role=ADMIN,
            json={
                "kind": kind,
                "city": city,
                "theme": "education",
                "title": {"en": title, "fr": f"{title} (fr)"},
                "contact": contact,
            },
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    request = await exchange("request", "TNTUN", asking["id"], "Mediators in schools")
    offer = await exchange("offer", "FRLYS", offering["id"], "Our school mediators")
    async with platform.worker(**smtp(sink)):
        response = await platform.dialogue.post(
            f"/v1/exchanges/{request['id']}/matches", role=ADMIN, json={"offer": offer["id"]}
        )
        assert response.status_code == 201, response.text
        await eventually(lambda: sink.to(asking["email"]) and sink.to(offering["email"]))

    to_asking = only(sink.to(asking["email"])).get_body().get_content()
    assert "The request of Tunis on Education" in to_asking, to_asking
    assert "Theirs: Our school mediators" in to_asking
    # The offering contact did not consent to show their address: their name only.
    assert "Their contact: Claire Martin" in to_asking.splitlines()
    assert offering["email"] not in to_asking
    to_offering = only(sink.to(offering["email"]))
    assert to_offering["Subject"] == "Échange apparié : Éducation", to_offering["Subject"]
    assert f"Leur contact : Amira Ben Salah <{asking['email']}>" in (
        to_offering.get_body().get_content().splitlines()
    )


async def test_a_delivery_whose_attempts_were_all_cut_short_is_given_up(
    platform: Platform, quiet: Database
) -> None:
    person = await create_person(platform.dialogue)
    settings = platform.settings.model_copy(update={"delivery_max_attempts": 3})
    async with quiet.sessionmaker() as session, session.begin():
        row = Notification(
            delivery_key=f"test:{uuid.uuid4()}",
            message_id=uuid.uuid4(),
            channel="email",
            recipient=person["email"],
            person_id=person["id"],
            event_type="registration.changed",
            subject="Registration confirmed",
            body="Dear Ana,",
            attempts=3,
            last_error="SMTPReadTimeoutError: Timed out waiting for server response",
        )
        session.add(row)
    async with open_worker(settings) as worker:
        outcome = await deliver_notification({"worker": worker}, row.id)
    assert outcome.startswith("failed: gave up after 3 attempts"), outcome
    (delivery,) = await deliveries(platform, f"person={person['id']}")
    assert (delivery["status"], delivery["attempts"]) == ("failed", 4), delivery
    assert delivery["last_error"] == (
        "gave up after 3 attempts, the last cut short; last error: "
        "SMTPReadTimeoutError: Timed out waiting for server response"
    )


def test_the_wait_between_attempts_doubles_from_the_base_up_to_six_hours(
    platform: Platform,
) -> None:
    settings = platform.settings.model_copy(update={"delivery_retry_base_seconds": 30})
    waits = [backoff(settings, attempt).total_seconds() for attempt in (1, 2, 3, 4, 5, 20)]
    assert waits == [30, 60, 120, 240, 480, 6 * 3600]


async def test_a_sweep_during_an_attempt_neither_blocks_it_nor_takes_its_retry(
    platform: Platform, quiet: Database
) -> None:
    person = await create_person(platform.dialogue)
    async with quiet.sessionmaker() as session, session.begin():
        row = Notification(
            delivery_key=f"test:{uuid.uuid4()}",
            message_id=uuid.uuid4(),
            channel="email",
            recipient=person["email"],
            person_id=person["id"],
            event_type="registration.changed",
            subject="Registration confirmed",
            body="Dear Ana,",
        )
        session.add(row)
    async with open_worker(platform.settings) as worker:
        # The sweep reads without locking: an attempt starting meanwhile is not turned away.
        async with quiet.sessionmaker() as sweep, sweep.begin():
            await sweep.execute(select(Notification).where(Notification.id == row.id))
            assert await enqueue_due(worker) >= 1
            async with quiet.sessionmaker() as session, session.begin():
                assert (
                    await NotificationRepository.from_session(session).start_attempt(
                        row.id, datetime.now(UTC)
                    )
                    == 1
                )

        # Attempt 1 under way (its row held): a sweep now enqueues a job for attempt 2 that
        # finds nothing to do, and the retry attempt 1 then schedules still gets its own job.
        async with quiet.sessionmaker() as attempt, attempt.begin():
            held = await NotificationRepository.from_session(attempt).lock_attempt(row.id, 1)
            assert held is not None
            assert await enqueue_due(worker) == 1
            assert await deliver_notification({"worker": worker}, row.id) == "nothing due"
            held.next_attempt_at = datetime.now(UTC) + timedelta(seconds=30)
            retry = Scheduled(held.id, held.message_id, 1, held.next_attempt_at)
        assert await enqueue_delivery(worker, retry)


async def test_focal_points_who_consented_hear_of_an_edition_of_their_citys_profile(
    platform: Platform, sink: SmtpSink, quiet: Database
) -> None:
    reachable = await create_person(
        platform.dialogue, city="MATNG", consent_contact=True, languages=["fr"]
    )
    private = await create_person(platform.dialogue, city="MATNG", consent_contact=False)
    elsewhere = await create_person(platform.dialogue, city="TNTUN", consent_contact=True)
    async with platform.worker(**smtp(sink)):
        response = await platform.profiles.post("/v1/cities/MATNG/editions", role=ADMIN)
        assert response.status_code == 201, response.text
        edition = response.json()
        await eventually(lambda: sink.to(reachable["email"]))
        await until_settled(quiet)

    [mail] = sink.to(reachable["email"])
    assert mail["Subject"] == f"Profil migratoire de Tanger publié : édition {edition['id']}"
    body = mail.get_body().get_content()
    assert edition["content_hash"] in body and f"/v1/editions/{edition['id']}" in body
    assert sink.to(private["email"]) == [] and sink.to(elsewhere["email"]) == []
