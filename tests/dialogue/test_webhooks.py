"""Webhook subscriptions: admins only, validated, the secret shown once, changed with If-Match,
enabled again after being disabled, paged, removed with the deliveries still waiting skipped."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.webhooks.schemas import WebhookEventType
from shared.contracts.events import EventPayload
from tests.factories import Api, assert_problem, error_fields

URL = "https://partner.example.org/hooks/mc2cm"


def new_webhook(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": URL,
        "event_types": ["event.changed", "registration.changed"],
        "description": "Lisbon's city portal",
    }
    body.update(overrides)
    return body


async def create_webhook(dialogue: Api, **overrides: Any) -> dict[str, Any]:
    response = await dialogue.post("/v1/webhooks", role=Api.ADMIN, json=new_webhook(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_admin_subscribes_and_sees_the_secret_in_that_answer_only(dialogue: Api) -> None:
    response = await dialogue.post("/v1/webhooks", role=Api.ADMIN, json=new_webhook())

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/v1/webhooks/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    secret = created["secret"]
    assert secret.startswith("whsec_"), secret
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["url"] == URL
    assert created["event_types"] == ["event.changed", "registration.changed"]
    assert created["active"] is True and created["consecutive_failures"] == 0
    assert created["created_by"] == "admin@test"

    read = await dialogue.get(f"/v1/webhooks/{created['id']}", role=Api.ADMIN)
    assert read.status_code == 200, read.text
    assert "secret" not in read.json(), read.json()
    assert read.headers["ETag"] == '"1"'
    listed = await dialogue.get("/v1/webhooks?limit=1000", role=Api.ADMIN)
    assert all("secret" not in item for item in listed.json()["items"])
    # Each subscription gets its own secret.
    assert (await create_webhook(dialogue))["secret"] != secret


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks"),
        ("GET", "/v1/webhooks/1"),
        ("PATCH", "/v1/webhooks/1"),
        ("DELETE", "/v1/webhooks/1"),
        ("GET", "/v1/notifications"),
        ("GET", "/v1/notifications/1"),
    ],
)
async def test_only_admins_reach_webhooks_and_the_delivery_log(
    dialogue: Api, method: str, path: str
) -> None:
    body = new_webhook() if method in {"POST", "PATCH"} else None
    headers = {"If-Match": '"1"'} if method == "PATCH" else None

    anonymous = await dialogue.request(method, path, json=body, headers=headers)
    problem = assert_problem(anonymous, 401)
    assert problem["type"] == "urn:mc2cm:problem:unauthorized"
    for role, cities in ((Api.VIEWER, ()), (Api.EDITOR, ("PTLIS",))):
        refused = await dialogue.request(
            method, path, role=role, cities=cities, json=body, headers=headers
        )
        problem = assert_problem(refused, 403)
        assert problem["type"] == "urn:mc2cm:problem:forbidden", problem


async def test_a_subscription_is_validated_naming_each_field(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/webhooks",
        role=Api.ADMIN,
        json=new_webhook(
            url="ftp://partner.example.org/hooks",
            event_types=["registration.changed", "registration.deleted"],
            description="x" * 501,
        ),
    )
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"url", "event_types.1", "description"}, problem

    for event_types, field in (([], "event_types"), (["event.changed"] * 2, "event_types")):
        response = await dialogue.post(
            "/v1/webhooks", role=Api.ADMIN, json=new_webhook(event_types=event_types)
        )
        assert error_fields(assert_problem(response, 422)) == {field}, event_types

    response = await dialogue.post(
        "/v1/webhooks", role=Api.ADMIN, json=new_webhook(url="not a url", secret="mine")
    )
    assert error_fields(assert_problem(response, 422)) == {"url", "secret"}
    response = await dialogue.post("/v1/webhooks", role=Api.ADMIN, json={"url": URL})
    assert error_fields(assert_problem(response, 422)) == {"event_types"}


def test_every_outbox_event_type_can_be_subscribed_to() -> None:
    def payloads(cls: type[EventPayload]) -> set[str]:
        found = set()
        for sub in cls.__subclasses__():
            found |= {sub.event_type} | payloads(sub)
        return found

    assert {t.value for t in WebhookEventType} == payloads(EventPayload)


async def test_a_subscription_changes_with_if_match_and_is_enabled_again(dialogue: Api) -> None:
    created = await create_webhook(dialogue)
    url = f"/v1/webhooks/{created['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"active": False})
    assert_problem(missing, 428)
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"7"'}, json={"active": False}
    )
    assert_problem(stale, 412)

    paused = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"active": False}
    )
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert (body["active"], body["version"], body["disabled_reason"]) == (
        False,
        2,
        "disabled by admin@test",
    )
    assert body["disabled_at"] is not None
    assert paused.headers["ETag"] == '"2"'

    enabled = await dialogue.patch(
        url,
        role=Api.ADMIN,
        headers={"If-Match": '"2"'},
        json={
            "active": True,
            "url": "https://partner.example.org/v2/hooks",
            "event_types": ["exchange.matched"],
            "description": None,
        },
    )
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    assert body["active"] is True
    assert (body["disabled_at"], body["disabled_reason"], body["description"]) == (
        None,
        None,
        None,
    )
    assert body["url"] == "https://partner.example.org/v2/hooks"
    assert body["event_types"] == ["exchange.matched"]

    # Nothing changed, nothing new: the same version.
    again = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"3"'}, json={"active": True}
    )
    assert again.json()["version"] == 3, again.json()
    invalid = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"3"'}, json={"event_types": ["x"]}
    )
    assert error_fields(assert_problem(invalid, 422)) == {"event_types.0"}
    nulled = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"3"'}, json={"url": None}
    )
    assert error_fields(assert_problem(nulled, 422)) == {"url"}


async def test_subscriptions_are_paged_in_order_and_filtered(dialogue: Api) -> None:
    made = [await create_webhook(dialogue) for _ in range(3)]
    ours = {item["id"] for item in made}
    await dialogue.patch(
        f"/v1/webhooks/{made[1]['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"active": False, "event_types": ["action.changed"]},
    )

    seen: list[int] = []
    cursor = None
    while True:
        query = "/v1/webhooks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await dialogue.get(query, role=Api.ADMIN)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and ours <= set(seen), seen

    async def ids(query: str) -> set[int]:
        response = await dialogue.get(f"/v1/webhooks?limit=1000&{query}", role=Api.ADMIN)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]} & ours

    assert await ids("active=false") == {made[1]["id"]}
    assert await ids("active=true") == {made[0]["id"], made[2]["id"]}
    assert await ids("event_type=action.changed") == {made[1]["id"]}
    assert await ids("event_type=registration.changed") == {made[0]["id"], made[2]["id"]}
    response = await dialogue.get("/v1/webhooks?event_type=nope", role=Api.ADMIN)
    assert error_fields(assert_problem(response, 422)) == {"event_type"}


async def test_removing_a_subscription_skips_its_waiting_deliveries_and_keeps_the_log(
    dialogue: Api, session: AsyncSession
) -> None:
    created = await create_webhook(dialogue)
    for status in ("pending", "sent"):
        session.add(
            Notification(
                delivery_key=f"{uuid.uuid4()}:webhook:{created['id']}",
                message_id=uuid.uuid4(),
                channel="webhook",
                recipient=URL,
                event_type="event.changed",
                outbox_event_id=uuid.uuid4(),
                subscription_id=created["id"],
                body="{}",
                status=status,
            )
        )
    await session.flush()

    stale = await dialogue.delete(
        f"/v1/webhooks/{created['id']}", role=Api.ADMIN, headers={"If-Match": '"9"'}
    )
    assert_problem(stale, 412)
    removed = await dialogue.delete(f"/v1/webhooks/{created['id']}", role=Api.ADMIN)
    assert removed.status_code == 204, removed.text
    assert_problem(await dialogue.get(f"/v1/webhooks/{created['id']}", role=Api.ADMIN), 404)
    assert_problem(await dialogue.delete(f"/v1/webhooks/{created['id']}", role=Api.ADMIN), 404)

    rows = (
        await session.execute(
            select(Notification.status, Notification.subscription_id, Notification.last_error)
            .where(Notification.recipient == URL, Notification.event_type == "event.changed")
            .order_by(Notification.id)
        )
    ).all()
    assert [tuple(row) for row in rows] == [
        ("skipped", None, "the webhook subscription was removed"),
        ("sent", None, None),
    ]
