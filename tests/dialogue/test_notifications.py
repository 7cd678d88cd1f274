"""The delivery log: admins list e-mail and webhook deliveries, filtered and paged, each with
its attempts, status, last error and the message id receivers de-duplicate on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.repository import NotificationRepository
from tests.dialogue.factories import add_person
from tests.factories import Api, assert_problem, error_fields


async def log(session: AsyncSession, **fields: Any) -> Notification:
    """A delivery of the log stored directly: an e-mail sent, unless told otherwise."""
    values: dict[str, Any] = {
        "delivery_key": f"{uuid.uuid4()}:email:person:0",
        "message_id": uuid.uuid4(),
        "channel": "email",
        "recipient": f"someone.{uuid.uuid4().hex[:8]}@example.org",
        "event_type": "registration.changed",
        "outbox_event_id": uuid.uuid4(),
        "subject": "Registration confirmed: Technical meeting",
        "body": "Dear someone,",
        "status": "sent",
        "attempts": 1,
    }
    values.update(fields)
    notification = Notification(**values)
    session.add(notification)
    await session.flush()
    await session.refresh(notification)
    return notification


async def listed(dialogue: Api, query: str) -> list[dict[str, Any]]:
    response = await dialogue.get(f"/v1/notifications?limit=1000&{query}", role=Api.ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_admins_read_each_delivery_with_its_attempts_and_message_id(
    dialogue: Api, session: AsyncSession
) -> None:
    person = await add_person(session)
    sent = await log(
        session,
        person_id=person.id,
        recipient=person.email,
        language="fr",
        sent_at=datetime.now(UTC),
    )
    retrying = await log(
        session,
        channel="webhook",
        recipient="https://partner.example.org/hooks",
        subject=None,
        body="{}",
        status="pending",
        attempts=2,
        last_error="HTTP 500 from the receiver",
        next_attempt_at=datetime.now(UTC) + timedelta(minutes=1),
    )

    items = {item["id"]: item for item in await listed(dialogue, f"person={person.id}")}
    assert list(items) == [sent.id], items
    email = items[sent.id]
    assert email == {
        "id": sent.id,
        "channel": "email",
        "recipient": person.email,
        "event_type": "registration.changed",
        "outbox_event_id": str(sent.outbox_event_id),
        "person": person.id,
        "subscription": None,
        "message_id": f"<{sent.message_id}@mc2cm>",
        "language": "fr",
        "subject": "Registration confirmed: Technical meeting",
        "status": "sent",
        "attempts": 1,
        "last_error": None,
        "next_attempt_at": None,
        "last_attempt_at": None,
        "created_at": email["created_at"],
        "sent_at": email["sent_at"],
    }
    assert email["sent_at"] is not None

    response = await dialogue.get(f"/v1/notifications/{retrying.id}", role=Api.ADMIN)
    assert response.status_code == 200, response.text
    webhook = response.json()
    assert webhook["message_id"] == f"msg_{retrying.message_id.hex}"
    assert (webhook["status"], webhook["attempts"], webhook["last_error"]) == (
        "pending",
        2,
        "HTTP 500 from the receiver",
    )
    assert webhook["next_attempt_at"] is not None
    assert_problem(await dialogue.get("/v1/notifications/999999999", role=Api.ADMIN), 404)


async def test_the_log_is_filtered_and_paged_in_order(dialogue: Api, session: AsyncSession) -> None:
    address = f"filtered.{uuid.uuid4().hex[:8]}@example.org"
    made = [
        await log(session, recipient=address),
        await log(session, recipient=address, status="failed", last_error="550 no such user"),
        await log(session, recipient=address, event_type="reminder.event", outbox_event_id=None),
        await log(session, recipient=address, status="skipped"),
    ]
    ids = [n.id for n in made]

    async def found(query: str) -> list[int]:
        return [item["id"] for item in await listed(dialogue, f"recipient={address}&{query}")]

    assert await found("") == ids
    assert await found("status=failed") == [ids[1]]
    assert await found("event_type=reminder.event") == [ids[2]]
    assert await found("channel=email&status=sent") == [ids[0], ids[2]]
    assert await found("channel=webhook") == []

    seen: list[int] = []
    cursor = None
    while True:
        query = f"/v1/notifications?recipient={address}&limit=3" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = (await dialogue.get(query, role=Api.ADMIN)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


async def test_unknown_filter_values_name_the_parameter(dialogue: Api) -> None:
    for query, field in (
        ("channel=sms", "channel"),
        ("status=lost", "status"),
        ("person=0", "person"),
        ("cursor=nonsense", "cursor"),
    ):
        response = await dialogue.get(f"/v1/notifications?{query}", role=Api.ADMIN)
        problem = assert_problem(response, 422)
        assert error_fields(problem) == {field}, (query, problem)


async def test_an_event_with_thousands_of_participants_claims_each_delivery_once(
    session: AsyncSession,
) -> None:
    """More deliveries than one statement can carry (asyncpg takes 32,767 parameters, a
    delivery 14): every one is claimed, and claiming them again adds none."""
    outbox_event_id = uuid.uuid4()
    rows = [
        {
            "delivery_key": f"{outbox_event_id}:email:person:{n}",
            "message_id": uuid.uuid4(),
            "channel": "email",
            "recipient": f"participant.{n}@example.org",
            "recipient_name": f"Participant {n}",
            "event_type": "event.changed",
            "outbox_event_id": outbox_event_id,
            "person_id": None,
            "subscription_id": None,
            "language": "en",
            "subject": "Event changed",
            "body": "Dear participant,",
            "calendar": None,
            "calendar_method": None,
        }
        for n in range(2500)
    ]
    repository = NotificationRepository.from_session(session)

    scheduled = await repository.claim(rows)
    again = await repository.claim(rows)

    assert len(scheduled) == 2500
    assert [row.id for row in scheduled] == sorted(row.id for row in scheduled)
    assert {row.message_id for row in scheduled} == {row["message_id"] for row in rows}
    assert again == scheduled
    stored = await session.scalar(
        select(func.count()).where(Notification.outbox_event_id == outbox_event_id)
    )
    assert stored == 2500
