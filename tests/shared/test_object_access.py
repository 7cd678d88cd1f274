"""Object-level access on both APIs: an object addressed under a parent it does not belong to
is 404 for everyone and stays as it was; private objects (unlisted people, events that are not
public) do not exist for those who may not see them, alone or inside other objects.

Refusals of editors of another city on each operation are proven by the authorisation matrix
(tests/shared/test_authorisation_matrix.py); here are the ids that lead elsewhere.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role
from tests.dialogue.factories import new_action, new_event
from tests.factories import Api, assert_problem
from tests.shared.access_calls import (
    CITY,
    OTHER_CITY,
    SECTION,
    World,
    a_challenge,
    a_person,
    a_recommendation,
    a_registration,
    a_section,
    an_action,
    an_agenda_item,
    an_assessment,
    an_edition,
    an_event,
    an_outcome,
    etag,
    made,
    secret,
)

LISBON_EDITOR: dict[str, Any] = {"role": Role.editor, "cities": (CITY,)}
LYON_EDITOR: dict[str, Any] = {"role": Role.editor, "cities": (OTHER_CITY,)}
ADMIN: dict[str, Any] = {"role": Role.admin}


@pytest.fixture
def world(api: Api, dialogue: Api, session: AsyncSession) -> World:
    return World(api, dialogue, session)


async def unchanged(client: Api, url: str, before: httpx.Response) -> None:
    """``url`` reads as it did in ``before``."""
    after = await client.get(url, role=Role.admin)
    assert (after.status_code, after.text) == (before.status_code, before.text), (
        f"{url} changed: {before.text} -> {after.text}"
    )


async def assert_lost_under(
    client: Api, url: str, wrong: str, patch: dict[str, Any], *, deletable: bool = True
) -> None:
    """The object at ``url`` addressed as ``wrong`` (another parent) is 404 for an
    administrator and the parent's editor, to read, change or remove, and stays as it was."""
    before = await client.get(url, role=Role.admin)
    assert before.status_code == 200, before.text
    if_match = {"If-Match": before.headers["ETag"]}
    for caller in (ADMIN, LISBON_EDITOR):
        attempts = [
            await client.get(wrong, **caller),
            await client.patch(wrong, json=patch, headers=if_match, **caller),
        ]
        if deletable:
            attempts.append(await client.delete(wrong, headers=if_match, **caller))
        for response in attempts:
            assert_problem(response, 404)
    await unchanged(client, url, before)


# --- Nested routes under the wrong parent ---------------------------------------------------


async def test_a_lisbon_challenge_under_lyon_is_404_and_unchanged(world: World) -> None:
    url, _ = await a_challenge(world)
    wrong = url.replace(f"/cities/{CITY}/", f"/cities/{OTHER_CITY}/")

    await assert_lost_under(world.profiles, url, wrong, {"priority": "low"})


async def test_lyon_editor_reaching_a_lisbon_challenge_through_lyon_gets_404(world: World) -> None:
    url, description = await a_challenge(world)
    wrong = url.replace(f"/cities/{CITY}/", f"/cities/{OTHER_CITY}/")
    before = await world.profiles.get(url)
    if_match = {"If-Match": before.headers["ETag"]}

    changed = await world.profiles.patch(
        wrong, json={"priority": "low"}, headers=if_match, **LYON_EDITOR
    )
    removed = await world.profiles.delete(wrong, headers=if_match, **LYON_EDITOR)

    for response in (changed, removed):
        assert description not in assert_problem(response, 404).get("detail", "")
    await unchanged(world.profiles, url, before)


async def test_a_lisbon_section_is_not_lyons(world: World) -> None:
    await a_section(world, published=True)
    wrong = SECTION.replace(f"/cities/{CITY}/", f"/cities/{OTHER_CITY}/")

    for caller in ({}, ADMIN):
        assert_problem(await world.profiles.get(wrong, **caller), 404)


async def test_an_agenda_item_under_another_event_is_404_and_unchanged(world: World) -> None:
    url, _ = await an_agenda_item(world)
    other_event, _ = await an_event(world)
    wrong = f"/v1/events/{other_event}/agenda/{url.rsplit('/', 1)[1]}"

    await assert_lost_under(world.dialogue, url, wrong, {"room": "Room B"})


async def test_a_registration_under_another_event_is_404_and_unchanged(world: World) -> None:
    url, _, _ = await a_registration(world)
    other_event, _ = await an_event(world)
    wrong = f"/v1/events/{other_event}/registrations/{url.rsplit('/', 1)[1]}"

    await assert_lost_under(world.dialogue, url, wrong, {"status": "cancelled"}, deletable=False)


async def test_an_outcome_under_another_event_is_404_and_unchanged(world: World) -> None:
    url, _ = await an_outcome(world)
    other_event, _ = await an_event(world)
    wrong = f"/v1/events/{other_event}/outcomes/{url.rsplit('/', 1)[1]}"

    await assert_lost_under(world.dialogue, url, wrong, {"kind": "report"})


async def test_evidence_removed_through_another_recommendation_is_404_and_kept(
    world: World,
) -> None:
    first, _ = await a_recommendation(world)
    second, _ = await a_recommendation(world)
    evidence_id = first["evidence"][0]["id"]
    url = f"/v1/recommendations/{first['id']}"
    before = await world.dialogue.get(url, role=Role.admin)

    for caller in (ADMIN, LISBON_EDITOR):
        response = await world.dialogue.delete(
            f"/v1/recommendations/{second['id']}/evidence/{evidence_id}", **caller
        )
        assert_problem(response, 404)
    await unchanged(world.dialogue, url, before)
    assert [link["id"] for link in before.json()["evidence"]] == [evidence_id]


async def test_progress_of_one_action_is_not_listed_under_another(world: World) -> None:
    reported, _ = await an_action(world)
    other, _ = await an_action(world)
    text = secret()
    await made(world.dialogue, f"/v1/actions/{reported}/updates", {"text": {"en": text}})

    mine = await world.dialogue.get(f"/v1/actions/{reported}/updates")
    theirs = await world.dialogue.get(f"/v1/actions/{other}/updates")

    assert text in mine.text, mine.text
    assert theirs.status_code == 200 and theirs.json()["items"] == [], theirs.text


async def test_an_action_is_not_created_on_a_recommendation_through_another_city(
    world: World,
) -> None:
    recommendation, _ = await a_recommendation(world)  # Lisbon's only

    response = await world.dialogue.post(
        f"/v1/recommendations/{recommendation['id']}/actions",
        json=new_action(city=OTHER_CITY),
        **LYON_EDITOR,
    )

    assert response.status_code in (403, 422), response.text
    listed = await world.dialogue.get(f"/v1/actions?recommendation={recommendation['id']}")
    assert listed.json()["items"] == [], listed.text


# --- Moving an object into a city the editor does not edit ---------------------------------


async def test_lyon_editor_cannot_move_a_lyon_person_to_lisbon(world: World) -> None:
    person = await made(
        world.dialogue,
        "/v1/people",
        {
            "name": secret(),
            "email": f"{secret().split()[1]}@example.org",
            "city": OTHER_CITY,
            "role": "expert",
            "consent_listed": True,
        },
    )
    url = f"/v1/people/{person['id']}"
    before = await world.dialogue.get(url, role=Role.admin)

    response = await world.dialogue.patch(
        url, json={"city": CITY}, headers=await etag(world.dialogue, url), **LYON_EDITOR
    )

    assert_problem(response, 403)
    await unchanged(world.dialogue, url, before)


async def test_lyon_editor_cannot_hand_a_lyon_event_to_lisbon(world: World) -> None:
    event = await made(
        world.dialogue, "/v1/events", new_event(host_city=OTHER_CITY, timezone="Europe/Paris")
    )
    url = f"/v1/events/{event['id']}"
    before = await world.dialogue.get(url, role=Role.admin)

    response = await world.dialogue.patch(
        url, json={"host_city": CITY}, headers=await etag(world.dialogue, url), **LYON_EDITOR
    )

    assert_problem(response, 403)
    await unchanged(world.dialogue, url, before)


# --- Private objects ------------------------------------------------------------------------


async def test_an_unlisted_person_exists_only_for_admins_and_editors_of_their_city(
    world: World,
) -> None:
    person_id, name, email = await a_person(world, listed=False)
    url = f"/v1/people/{person_id}"

    for caller in ({}, {"role": Role.viewer}, LYON_EDITOR):
        response = await world.dialogue.get(url, **caller)
        assert_problem(response, 404)
        listed = await world.dialogue.get("/v1/people?limit=200", **caller)
        for text in (response.text, listed.text):
            assert name not in text and email not in text, (caller, text)
    for caller in (LISBON_EDITOR, ADMIN):
        response = await world.dialogue.get(url, **caller)
        assert response.status_code == 200 and response.json()["name"] == name, response.text


async def test_an_unlisted_person_is_not_shown_inside_other_objects(world: World) -> None:
    person_id, name, email = await a_person(world, listed=False)
    event_id, _ = await an_event(world)
    registered = await made(
        world.dialogue,
        f"/v1/events/{event_id}/registrations",
        {"person": person_id, "status": "registered"},
    )
    recommendation, _ = await a_recommendation(world)
    action = await made(
        world.dialogue,
        f"/v1/recommendations/{recommendation['id']}/actions",
        new_action(city=CITY, owner=person_id),
    )
    exchange = await made(
        world.dialogue,
        "/v1/exchanges",
        {
            "kind": "offer",
            "city": CITY,
            "theme": "health",
            "title": {"en": "Clinics"},
            "contact": person_id,
        },
    )
    item = await made(
        world.dialogue,
        f"/v1/events/{event_id}/agenda",
        {
            "starts_at": "2027-03-10T10:00:00+01:00",
            "ends_at": "2027-03-10T11:00:00+01:00",
            "title": {"en": "Opening"},
            "speakers": [person_id],
        },
    )
    reads = [
        f"/v1/events/{event_id}/agenda",
        f"/v1/events/{event_id}/agenda/{item['id']}",
        f"/v1/events/{event_id}/registrations",
        f"/v1/events/{event_id}/registrations/{registered['id']}",
        f"/v1/actions/{action['id']}",
        f"/v1/exchanges/{exchange['id']}",
        "/v1/exchanges?limit=200",
        f"/v1/actions?owner={person_id}",
    ]

    for caller in ({}, {"role": Role.viewer}, LYON_EDITOR):
        for read in reads:
            response = await world.dialogue.get(read, **caller)
            assert response.status_code in (200, 404), (caller, read, response.text)
            assert name not in response.text and email not in response.text, (caller, read)
    shown = await world.dialogue.get(f"/v1/actions/{action['id']}", **LISBON_EDITOR)
    assert shown.json()["owner"]["name"] == name, shown.text


async def test_editors_of_another_city_cannot_name_an_unlisted_person(world: World) -> None:
    person_id, name, email = await a_person(world, listed=False)
    event = await made(
        world.dialogue, "/v1/events", new_event(host_city=OTHER_CITY, timezone="Europe/Paris")
    )
    recommendation = await made(
        world.dialogue,
        "/v1/recommendations",
        {
            "event": event["id"],
            "theme": "housing",
            "text": {"en": "Shelters."},
            "target_cities": [OTHER_CITY],
            "governance_level": "local",
        },
    )
    attempts = {
        "speakers": await world.dialogue.post(
            f"/v1/events/{event['id']}/agenda",
            json={
                "starts_at": "2027-03-10T10:00:00+01:00",
                "ends_at": "2027-03-10T11:00:00+01:00",
                "title": {"en": "Opening"},
                "speakers": [person_id],
            },
            **LYON_EDITOR,
        ),
        "person": await world.dialogue.post(
            f"/v1/events/{event['id']}/registrations",
            json={"person": person_id, "status": "invited"},
            **LYON_EDITOR,
        ),
        "owner": await world.dialogue.post(
            f"/v1/recommendations/{recommendation['id']}/actions",
            json=new_action(city=OTHER_CITY, owner=person_id),
            **LYON_EDITOR,
        ),
        "contact": await world.dialogue.post(
            "/v1/exchanges",
            json={
                "kind": "offer",
                "city": OTHER_CITY,
                "theme": "health",
                "title": {"en": "Clinics"},
                "contact": person_id,
            },
            **LYON_EDITOR,
        ),
    }

    for field_name, response in attempts.items():
        problem = assert_problem(response, 422)
        assert field_name in {error["field"].split(".")[0] for error in problem["errors"]}, problem
        assert name not in response.text and email not in response.text, response.text


async def private_event(world: World, *, public: bool = False) -> tuple[int, str]:
    title = secret()
    event = await made(
        world.dialogue,
        "/v1/events",
        new_event(host_city=CITY, title={"en": title}, public=public, timezone="Europe/Lisbon"),
    )
    return event["id"], title


async def test_an_event_that_is_not_public_does_not_exist_for_anonymous_callers(
    world: World,
) -> None:
    event_id, title = await private_event(world)
    outcome = await made(
        world.dialogue,
        f"/v1/events/{event_id}/outcomes",
        {
            "kind": "minutes",
            "title": {"en": "Minutes"},
            "url": "https://example.org/m.pdf",
            "document_language": "pt",
        },
    )
    recommendation = await made(
        world.dialogue,
        "/v1/recommendations",
        {
            "event": event_id,
            "theme": "housing",
            "text": {"en": secret()},
            "target_cities": [CITY],
            "governance_level": "local",
        },
    )
    hidden = [
        f"/v1/events/{event_id}",
        f"/v1/events/{event_id}/agenda",
        f"/v1/events/{event_id}/registrations",
        f"/v1/events/{event_id}/outcomes",
        f"/v1/events/{event_id}/outcomes/{outcome['id']}",
        f"/v1/events/{event_id}/calendar.ics",
        f"/v1/recommendations/{recommendation['id']}",
        f"/v1/recommendations/{recommendation['id']}/history",
    ]
    lists = ["/v1/events?limit=200", "/v1/calendar.ics", f"/v1/recommendations?event={event_id}"]

    for url in hidden:
        response = await world.dialogue.get(url)
        assert_problem(response, 404)
        assert title not in response.text, url
    for url in lists:
        response = await world.dialogue.get(url)
        assert response.status_code == 200 and title not in response.text, (url, response.text)
    for url in hidden:
        response = await world.dialogue.get(url, role=Role.viewer)
        assert response.status_code == 200, (url, response.text)


async def test_who_confirmed_a_match_is_hidden_from_anonymous_readers(world: World) -> None:
    request = await made(
        world.dialogue,
        "/v1/exchanges",
        {"kind": "request", "city": CITY, "theme": "employment", "title": {"en": "Diplomas"}},
    )
    offer = await made(
        world.dialogue,
        "/v1/exchanges",
        {"kind": "offer", "city": "ITTRN", "theme": "employment", "title": {"en": "Diplomas"}},
    )
    await made(world.dialogue, f"/v1/exchanges/{request['id']}/matches", {"offer": offer["id"]})
    url = f"/v1/exchanges/{request['id']}/matches"

    anonymous = await world.dialogue.get(url)
    viewer = await world.dialogue.get(url, role=Role.viewer)

    assert [match["matched_by"] for match in anonymous.json()["items"]] == [None], anonymous.text
    assert [match["matched_by"] for match in viewer.json()["items"]] == ["admin@test"], viewer.text


# --- Every read of the dialogue, with ids of private objects --------------------------------


async def a_private_world(
    world: World, *, public: bool = False
) -> tuple[dict[str, str], str, tuple[str, str]]:
    """Objects hanging from an event that is not public, with an unlisted person of Lisbon as
    registrant, speaker, action owner and exchange contact: the ids for each path parameter,
    the event's title, and the person's name and e-mail address. With ``public``, the event
    is public and the person listed (but not contactable)."""
    person_id, name, email = await a_person(world, listed=public)
    event_id, title = await private_event(world, public=public)
    events = f"/v1/events/{event_id}"
    item = await made(
        world.dialogue,
        f"{events}/agenda",
        {
            "starts_at": "2027-03-10T10:00:00+01:00",
            "ends_at": "2027-03-10T11:00:00+01:00",
            "title": {"en": title},
            "speakers": [person_id],
        },
    )
    registration = await made(
        world.dialogue, f"{events}/registrations", {"person": person_id, "status": "registered"}
    )
    outcome = await made(
        world.dialogue,
        f"{events}/outcomes",
        {
            "kind": "minutes",
            "title": {"en": title},
            "url": "https://example.org/m.pdf",
            "document_language": "pt",
        },
    )
    recommendation = await made(
        world.dialogue,
        "/v1/recommendations",
        {
            "event": event_id,
            "theme": "housing",
            "text": {"en": title},
            "target_cities": [CITY],
            "governance_level": "local",
        },
    )
    action = await made(
        world.dialogue,
        f"/v1/recommendations/{recommendation['id']}/actions",
        new_action(city=CITY, owner=person_id, title={"en": title}),
    )
    await made(world.dialogue, f"/v1/actions/{action['id']}/updates", {"text": {"en": title}})
    exchange = await made(
        world.dialogue,
        "/v1/exchanges",
        {
            "kind": "request",
            "city": CITY,
            "theme": "employment",
            "title": {"en": "Diplomas"},
            "contact": person_id,
        },
    )
    ids = {
        "event_id": str(event_id),
        "item_id": str(item["id"]),
        "registration_id": str(registration["id"]),
        "outcome_id": str(outcome["id"]),
        "recommendation_id": str(recommendation["id"]),
        "action_id": str(action["id"]),
        "exchange_id": str(exchange["id"]),
        "request_id": str(exchange["id"]),
        "person_id": str(person_id),
        "code": CITY,
        "subscription_id": "1",
        "notification_id": "1",
    }
    return ids, title, (name, email)


#: Query strings that search for the private objects on list reads.
SEARCHES = {
    "/v1/people": "?q=Confidential&limit=200",
    "/v1/actions": "?owner={person_id}&limit=200",
    "/v1/events": "?city=PTLIS&limit=200",
    "/v1/recommendations": "?event={event_id}&limit=200",
    "/v1/exchanges": "?city=PTLIS&limit=200",
    "/v1/calendar.ics": "?city=PTLIS",
    "/v1/exchanges/matches": "?city=PTLIS",
}


def read_urls(paths: list[str], ids: dict[str, str]) -> list[str]:
    """Each read with the ids filled in; lists also with ``SEARCHES`` and with a large page."""
    urls = []
    for path in paths:
        url = path.format(**ids)
        urls.append(url)
        if "{" not in path and not path.endswith(".ics"):
            urls.append(f"{url}?limit=500")
        if path in SEARCHES:
            urls.append(url + SEARCHES[path].format(**ids))
    return urls


@pytest.mark.parametrize("caller", ["anonymous", "viewer", "other_editor"])
async def test_no_read_of_the_dialogue_shows_what_the_caller_may_not_see(
    world: World, dialogue_app: Any, caller: str
) -> None:
    ids, title, person = await a_private_world(world)
    # Anonymous callers may see neither the event nor the person; tokens may see the event.
    hidden = (title, *person) if caller == "anonymous" else person
    who = {"anonymous": {}, "viewer": {"role": Role.viewer}, "other_editor": LYON_EDITOR}[caller]
    reads = [
        path
        for path, item in dialogue_app.openapi()["paths"].items()
        if "get" in item and path.startswith("/v1/")
    ]

    for url in read_urls(reads, ids):
        response = await world.dialogue.get(url, **who)
        assert response.status_code in (200, 401, 403, 404), (url, response.text)
        for secret_text in hidden:
            assert secret_text not in response.text, f"{caller} GET {url} showed {secret_text!r}"


#: Required query parameters of profiles' reads.
QUERIES = {
    "/v1/compare": f"?indicator=foreign_nationals&cities={CITY}",
    "/v1/compare/chart": f"?indicator=foreign_nationals&cities={CITY}",
    "/v1/assessments/compare": f"?framework=mgi_local&cities={CITY}",
    "/v1/assessments/compare/chart": f"?framework=mgi_local&cities={CITY}",
}


async def test_no_read_of_profiles_shows_a_draft_to_anonymous_callers(
    world: World, profiles_app: Any
) -> None:
    published = await a_section(world, published=True)
    draft = await a_section(world)  # a new draft of the published chapter
    never_published = secret()
    created = await world.profiles.put(
        f"/v1/cities/{CITY}/sections/housing",
        role=Role.admin,
        json={"narrative": {"en": never_published}},
    )
    assert created.status_code == 201, created.text
    challenge_url, _ = await a_challenge(world)
    # An edition published now freezes the published text only.
    edition_id = (await an_edition(world)).rsplit("/", 1)[1]
    # A draft assessment whose answer says what no anonymous caller may read.
    assessment_url = await an_assessment(world)
    draft_answer = secret()
    answered = await world.profiles.put(
        f"{assessment_url}/answers/rig_1a",
        role=Role.admin,
        headers={"If-None-Match": "*"},
        json={"option": "absent", "comment": draft_answer},
    )
    assert answered.status_code == 201, answered.text
    ids = {
        "section": "employment",
        "challenge_id": challenge_url.rsplit("/", 1)[1],
        "observation_id": "1",
        "source_id": "1",
        "edition_id": edition_id,
        "indicator": "foreign_nationals",
        "version": "1.0",
        "assessment_id": assessment_url.rsplit("/", 1)[1],
        "question": "rig_1a",
    }
    queries = {**QUERIES, "/v1/editions/{edition_id}/changes": f"?since={edition_id}"}
    shown = []

    for path, item in profiles_app.openapi()["paths"].items():
        if "get" not in item or not path.startswith("/v1/"):
            continue
        code = "foreign_nationals" if path.startswith("/v1/indicators") else CITY
        code = "mgi_local" if path.startswith("/v1/assessment-frameworks") else code
        url = path.format(code=code, **ids) + queries.get(path, "")
        response = await world.profiles.get(url)
        assert response.status_code in (200, 202, 401, 404), (url, response.text)
        assert draft not in response.text and never_published not in response.text, url
        assert draft_answer not in response.text, url
        shown.append(published in response.text)

    assert any(shown), "the published text is shown somewhere"
    for url in (f"/v1/cities/{CITY}/sections", SECTION):
        asked = await world.profiles.get(url, params={"view": "working"})
        assert_problem(asked, 401)
        assert draft not in asked.text and never_published not in asked.text, url


@pytest.mark.parametrize("caller", ["anonymous", "viewer", "other_editor"])
async def test_no_read_of_the_dialogue_shows_an_address_the_person_keeps_private(
    world: World, dialogue_app: Any, caller: str
) -> None:
    ids, _, (name, email) = await a_private_world(world, public=True)
    who = {"anonymous": {}, "viewer": {"role": Role.viewer}, "other_editor": LYON_EDITOR}[caller]
    seen = []

    reads = [
        path
        for path, item in dialogue_app.openapi()["paths"].items()
        if "get" in item and path.startswith("/v1/")
    ]

    for url in read_urls(reads, ids):
        response = await world.dialogue.get(url, **who)
        assert email not in response.text, f"{caller} GET {url} showed {email!r}"
        seen.append(name in response.text)

    assert sum(seen) >= 5, "the listed person is shown where they take part"
