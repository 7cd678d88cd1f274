"""The audit log of the dialogue API: every write leaves an entry naming who, when, what and
the change, in the write's transaction; secrets never reach it; admins read it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role
from tests.dialogue.factories import (
    add_person,
    create_action,
    create_event,
    create_person,
    create_recommendation,
    new_event,
    new_person,
)
from tests.factories import Api, WriteWalk, assert_problem, audit_entries, only_entry, request_id_of

ADMIN: dict[str, Any] = {"role": Api.ADMIN}


async def test_creating_an_event_records_its_host_city_and_values(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events", json=new_event(), headers={"X-Request-ID": "audit-event-1"}, **ADMIN
    )
    assert response.status_code == 201, response.text

    entry = await only_entry(dialogue, response)
    assert (entry["actor"], entry["actor_role"], entry["request_id"]) == (
        "admin@test",
        "admin",
        "audit-event-1",
    ), entry
    assert (entry["action"], entry["resource"], entry["resource_id"], entry["city"]) == (
        "create",
        "event",
        str(response.json()["id"]),
        "TNTUN",
    ), entry
    assert entry["change"]["title"]["fr"] == "Réunion technique", entry


async def test_a_registration_is_recorded_with_its_status_changes(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = await add_person(session, "PTLIS")
    created = await dialogue.post(
        f"/v1/events/{event['id']}/registrations",
        json={"person": person.id, "status": "invited"},
        **ADMIN,
    )
    assert created.status_code == 201, created.text
    registration = created.json()

    entry = await only_entry(dialogue, created)
    assert (entry["action"], entry["resource"], entry["resource_id"]) == (
        "create",
        "registration",
        str(registration["id"]),
    ), entry
    assert entry["change"]["status"] == "invited", entry
    assert entry["change"]["person_id"] == person.id, entry

    changed = await dialogue.patch(
        f"/v1/events/{event['id']}/registrations/{registration['id']}",
        json={"status": "registered"},
        headers={"If-Match": created.headers["ETag"]},
        **ADMIN,
    )
    assert changed.status_code == 200, changed.text
    entries = await audit_entries(dialogue, request_id_of(changed))
    (update,) = [e for e in entries if e["resource"] == "registration"]
    assert update["change"]["status"] == ["invited", "registered"], update


async def test_a_webhook_subscription_is_recorded_without_its_secret(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/webhooks",
        json={"url": "https://partner.example.org/hooks", "event_types": ["event.changed"]},
        **ADMIN,
    )
    assert response.status_code == 201, response.text
    secret = response.json()["secret"]

    entry = await only_entry(dialogue, response)
    assert (entry["resource"], entry["resource_id"]) == (
        "webhook_subscription",
        str(response.json()["id"]),
    ), entry
    assert entry["change"]["url"] == "https://partner.example.org/hooks", entry
    assert entry["change"]["secret"] == "[redacted]", entry
    assert secret not in json.dumps(entry), entry
    assert secret.removeprefix("whsec_") not in json.dumps(entry), entry


async def test_new_speakers_of_an_agenda_item_are_recorded_old_and_new(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    first, second = await add_person(session, "TNTUN"), await add_person(session, "TNTUN")
    created = await dialogue.post(
        f"/v1/events/{event['id']}/agenda",
        json={
            "starts_at": "2027-03-10T10:00:00+01:00",
            "ends_at": "2027-03-10T11:00:00+01:00",
            "title": {"en": "Opening session"},
            "speakers": [first.id],
        },
        **ADMIN,
    )
    assert created.status_code == 201, created.text
    item = created.json()

    changed = await dialogue.patch(
        f"/v1/events/{event['id']}/agenda/{item['id']}",
        json={"speakers": [second.id, first.id]},
        headers={"If-Match": created.headers["ETag"]},
        **ADMIN,
    )
    assert changed.status_code == 200, changed.text

    entries = await audit_entries(dialogue, request_id_of(changed))
    speakers = [e["change"]["speakers"] for e in entries if "speakers" in e["change"]]
    assert speakers == [[[first.id], [second.id, first.id]]], entries
    assert {e["resource_id"] for e in entries} == {str(item["id"])}, entries


async def test_a_refused_write_leaves_no_entry(dialogue: Api) -> None:
    editor = await dialogue.post("/v1/events", json=new_event(), role=Api.EDITOR, cities=("PTLIS",))
    assert_problem(editor, 403)
    invalid = await dialogue.post("/v1/people", json=new_person(email="not an address"), **ADMIN)
    assert_problem(invalid, 422)

    for response in (editor, invalid):
        assert await audit_entries(dialogue, request_id_of(response)) == []


async def test_deleting_a_person_records_who_they_were(dialogue: Api) -> None:
    person = await create_person(dialogue, name="Rui Costa")
    response = await dialogue.delete(f"/v1/people/{person['id']}", **ADMIN)
    assert response.status_code == 204, response.text

    entry = await only_entry(dialogue, response)
    assert (entry["action"], entry["resource"], entry["resource_id"], entry["city"]) == (
        "delete",
        "person",
        str(person["id"]),
        "PTLIS",
    ), entry
    assert entry["change"]["name"] == "Rui Costa", entry


async def test_the_dialogue_log_filters_by_city_and_resource(dialogue: Api) -> None:
    lisbon = await create_person(dialogue, city="PTLIS")
    turin = await create_person(dialogue, city="ITTRN")

    response = await dialogue.get(
        "/v1/audit", params={"city": "ITTRN", "resource": "person", "limit": 1}, **ADMIN
    )
    assert response.status_code == 200, response.text
    (entry,) = response.json()["items"]
    assert entry["resource_id"] == str(turin["id"]), entry
    assert str(lisbon["id"]) != entry["resource_id"]


@pytest.mark.parametrize(
    ("caller", "status"),
    [({"role": Role.viewer}, 403), ({"role": Role.editor, "cities": ("TNTUN",)}, 403), ({}, 401)],
)
async def test_only_admins_read_the_dialogue_log(
    dialogue: Api, caller: dict[str, Any], status: int
) -> None:
    assert_problem(await dialogue.get("/v1/audit", **caller), status)


async def walk_event(walk: WriteWalk) -> httpx.Response:
    """An event created and changed, an agenda item through its lifecycle; the event."""
    event = await walk.created("POST /v1/events", "/v1/events", "event", new_event())
    event_url = f"/v1/events/{event.json()['id']}"
    await walk.changed(
        "PATCH /v1/events/{event_id}", event_url, "event", event, {"venue": "Cité de la Culture"}
    )
    item = await walk.created(
        "POST /v1/events/{event_id}/agenda",
        f"{event_url}/agenda",
        "agenda_item",
        {
            "starts_at": "2027-03-10T10:00:00+01:00",
            "ends_at": "2027-03-10T11:00:00+01:00",
            "title": {"en": "Opening"},
        },
    )
    item_url = f"{event_url}/agenda/{item.json()['id']}"
    item = await walk.changed(
        "PATCH /v1/events/{event_id}/agenda/{item_id}",
        item_url,
        "agenda_item",
        item,
        {"title": {"en": "Welcome"}},
    )
    await walk.removed(
        "DELETE /v1/events/{event_id}/agenda/{item_id}", item_url, "agenda_item", item
    )
    return event


async def walk_people(walk: WriteWalk, event: httpx.Response) -> None:
    """A person, their registration to ``event``, and an outcome of it."""
    event_url = f"/v1/events/{event.json()['id']}"
    person = await walk.created("POST /v1/people", "/v1/people", "person", new_person())
    person_url = f"/v1/people/{person.json()['id']}"
    person = await walk.changed(
        "PATCH /v1/people/{person_id}", person_url, "person", person, {"organisation": "CML"}
    )
    registration = await walk.created(
        "POST /v1/events/{event_id}/registrations",
        f"{event_url}/registrations",
        "registration",
        {"person": person.json()["id"], "status": "invited"},
    )
    await walk.changed(
        "PATCH /v1/events/{event_id}/registrations/{registration_id}",
        f"{event_url}/registrations/{registration.json()['id']}",
        "registration",
        registration,
        {"status": "registered"},
    )
    outcome = await walk.created(
        "POST /v1/events/{event_id}/outcomes",
        f"{event_url}/outcomes",
        "outcome",
        {
            "kind": "minutes",
            "title": {"en": "Minutes"},
            "url": "https://www.example.org/minutes.pdf",
            "document_language": "en",
        },
    )
    outcome_url = f"{event_url}/outcomes/{outcome.json()['id']}"
    outcome = await walk.changed(
        "PATCH /v1/events/{event_id}/outcomes/{outcome_id}",
        outcome_url,
        "outcome",
        outcome,
        {"title": {"en": "Approved minutes"}},
    )
    await walk.removed(
        "DELETE /v1/events/{event_id}/outcomes/{outcome_id}", outcome_url, "outcome", outcome
    )


async def walk_recommendations(walk: WriteWalk, event: httpx.Response) -> None:
    """A recommendation of ``event`` with its evidence and action, then deleted."""
    dialogue = walk.api
    recommendation = await walk.created(
        "POST /v1/recommendations",
        "/v1/recommendations",
        "recommendation",
        {
            "event": event.json()["id"],
            "theme": "housing",
            "text": {"en": "Open a one-stop reception desk."},
            "target_cities": ["TNTUN"],
            "governance_level": "local",
        },
    )
    recommendation_url = f"/v1/recommendations/{recommendation.json()['id']}"
    recommendation = await walk.changed(
        "PATCH /v1/recommendations/{recommendation_id}",
        recommendation_url,
        "recommendation",
        recommendation,
        {"text": {"en": "Open a reception desk for newcomers."}},
    )
    evidence = await walk.created(
        "POST /v1/recommendations/{recommendation_id}/evidence",
        f"{recommendation_url}/evidence",
        "evidence",
        {"city": "TNTUN", "indicator": "foreign_nationals", "role": "motivates"},
    )
    await walk.step(
        "DELETE /v1/recommendations/{recommendation_id}/evidence/{evidence_id}",
        await dialogue.delete(f"{recommendation_url}/evidence/{evidence.json()['id']}", **ADMIN),
        "evidence",
        evidence.json()["id"],
    )
    action = await walk.created(
        "POST /v1/recommendations/{recommendation_id}/actions",
        f"{recommendation_url}/actions",
        "action",
        {"city": "TNTUN", "title": {"en": "Open the desk"}, "due_on": "2027-06-30"},
    )
    action_url = f"/v1/actions/{action.json()['id']}"
    await walk.created(
        "POST /v1/actions/{action_id}/updates",
        f"{action_url}/updates",
        "action_update",
        {"text": {"en": "Begun."}},
    )
    action = await dialogue.get(action_url)
    action = await walk.changed(
        "PATCH /v1/actions/{action_id}", action_url, "action", action, {"title": {"en": "Desk"}}
    )
    await walk.removed("DELETE /v1/actions/{action_id}", action_url, "action", action)
    recommendation = await dialogue.get(recommendation_url, **ADMIN)
    await walk.removed(
        "DELETE /v1/recommendations/{recommendation_id}",
        recommendation_url,
        "recommendation",
        recommendation,
    )


async def walk_exchanges(walk: WriteWalk) -> None:
    """A request matched with an offer, and a spare offer deleted."""
    dialogue = walk.api
    request = await walk.created(
        "POST /v1/exchanges",
        "/v1/exchanges",
        "exchange",
        {"kind": "request", "city": "TNTUN", "theme": "employment", "title": {"en": "Diplomas"}},
    )
    offer = await dialogue.post(
        "/v1/exchanges",
        json={
            "kind": "offer",
            "city": "ITTRN",
            "theme": "employment",
            "title": {"en": "How Turin recognises diplomas"},
        },
        **ADMIN,
    )
    exchange_url = f"/v1/exchanges/{offer.json()['id']}"
    offer = await walk.changed(
        "PATCH /v1/exchanges/{exchange_id}",
        exchange_url,
        "exchange",
        offer,
        {"title": {"en": "Recognising diplomas in Turin"}},
    )
    await walk.created(
        "POST /v1/exchanges/{exchange_id}/matches",
        f"/v1/exchanges/{request.json()['id']}/matches",
        "exchange_match",
        {"offer": offer.json()["id"]},
    )
    spare = await dialogue.post(
        "/v1/exchanges",
        json={"kind": "offer", "city": "ITTRN", "theme": "health", "title": {"en": "Spare"}},
        **ADMIN,
    )
    await walk.removed(
        "DELETE /v1/exchanges/{exchange_id}",
        f"/v1/exchanges/{spare.json()['id']}",
        "exchange",
        spare,
    )


async def walk_webhooks_and_deletions(walk: WriteWalk) -> None:
    """A webhook subscription through its lifecycle; a person and an event deleted."""
    dialogue = walk.api
    webhook = await walk.created(
        "POST /v1/webhooks",
        "/v1/webhooks",
        "webhook_subscription",
        {"url": "https://partner.example.org/walk", "event_types": ["event.changed"]},
    )
    webhook_url = f"/v1/webhooks/{webhook.json()['id']}"
    webhook = await walk.changed(
        "PATCH /v1/webhooks/{subscription_id}",
        webhook_url,
        "webhook_subscription",
        webhook,
        {"description": "Walk"},
    )
    await walk.removed(
        "DELETE /v1/webhooks/{subscription_id}", webhook_url, "webhook_subscription", webhook
    )
    unregistered = await dialogue.post("/v1/people", json=new_person(), **ADMIN)
    await walk.removed(
        "DELETE /v1/people/{person_id}",
        f"/v1/people/{unregistered.json()['id']}",
        "person",
        unregistered,
    )
    spare_event = await dialogue.post("/v1/events", json=new_event(), **ADMIN)
    await walk.removed(
        "DELETE /v1/events/{event_id}",
        f"/v1/events/{spare_event.json()['id']}",
        "event",
        spare_event,
    )


async def test_every_write_operation_leaves_an_entry_naming_its_resource_and_id(
    dialogue: Api, dialogue_app: FastAPI
) -> None:
    """Every write operation of the API, each in its own request: the entry of that request
    names the resource and the id the response gave."""
    walk = WriteWalk(dialogue, dialogue_app.openapi())
    event = await walk_event(walk)
    await walk_people(walk, event)
    await walk_recommendations(walk, event)
    await walk_exchanges(walk)
    await walk_webhooks_and_deletions(walk)

    assert walk.missed == set(), f"write operations the walk does not go through: {walk.missed}"


async def test_helpers_of_other_tests_write_through_the_api(dialogue: Api) -> None:
    """The shared factories go through the API, so their writes are audited too."""
    event = await create_event(dialogue)
    recommendation = await create_recommendation(dialogue, event["id"])
    action = await create_action(dialogue, recommendation["id"])

    log = await dialogue.get(
        "/v1/audit", params={"resource": "action", "resource_id": str(action["id"])}, **ADMIN
    )
    assert [e["action"] for e in log.json()["items"]] == ["create"], log.json()
