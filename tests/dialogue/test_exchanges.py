"""Exchanges of expertise: offers and requests, ranked proposals, confirmed matches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.app import create_app
from services.dialogue_api.cities.service import apply_city_upserted
from services.dialogue_api.db import outbox
from services.dialogue_api.exchanges.models import ExchangeMatch
from shared.contracts.cities import CityRef, MembershipStatus, Region
from shared.db import Database
from shared.pagination import encode_cursor
from tests.conftest import make_settings
from tests.dialogue.factories import add_person, dialogue_outbox_position, dialogue_outbox_since
from tests.factories import Api, assert_problem, error_fields


def new_exchange(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "offer",
        "city": "ITTRN",
        "theme": "employment",
        "title": {"en": "Helping newcomers have their diplomas recognised"},
        "languages": ["it", "en"],
    }
    body.update(overrides)
    return body


async def create(dialogue: Api, **overrides: Any) -> dict[str, Any]:
    response = await dialogue.post("/v1/exchanges", role=Api.ADMIN, json=new_exchange(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def proposals(dialogue: Api, query: str = "") -> list[tuple[int, int]]:
    """(request, offer) pairs proposed, in rank order, restricted to employment requests (the
    demo story has none)."""
    response = await dialogue.get(f"/v1/exchanges/matches?theme=employment&limit=100{query}")
    assert response.status_code == 200, response.text
    return [(item["request"]["id"], item["offer"]["id"]) for item in response.json()["items"]]


# Offers and requests


async def test_editor_of_a_city_offers_expertise_with_a_contact(
    dialogue: Api, session: AsyncSession
) -> None:
    contact = await add_person(session, "ITTRN", contactable=True)

    response = await dialogue.post(
        "/v1/exchanges",
        role=Api.EDITOR,
        cities=("ITTRN",),
        json=new_exchange(contact=contact.id, related_themes=["intercultural"]),
    )

    assert response.status_code == 201, response.text
    exchange = response.json()
    assert response.headers["Location"] == f"/v1/exchanges/{exchange['id']}"
    assert exchange["status"] == "open" and exchange["version"] == 1
    assert exchange["contact"]["id"] == contact.id
    assert exchange["contact"]["email"] == contact.email


async def test_editor_of_lisbon_cannot_offer_for_tunis(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/exchanges", role=Api.EDITOR, cities=("PTLIS",), json=new_exchange(city="TNTUN")
    )

    assert_problem(response, 403)


async def test_viewers_and_anonymous_callers_cannot_offer(dialogue: Api) -> None:
    assert_problem(await dialogue.post("/v1/exchanges", role=Api.VIEWER, json=new_exchange()), 403)
    assert_problem(await dialogue.post("/v1/exchanges", json=new_exchange()), 401)


async def test_unknown_city_and_unknown_contact_are_named(dialogue: Api) -> None:
    city = await dialogue.post("/v1/exchanges", role=Api.ADMIN, json=new_exchange(city="GRATH"))
    contact = await dialogue.post(
        "/v1/exchanges", role=Api.ADMIN, json=new_exchange(contact=987654321)
    )

    assert error_fields(assert_problem(city, 422)) == {"city"}
    assert error_fields(assert_problem(contact, 422)) == {"contact"}


async def test_an_editor_cannot_name_an_unlisted_person_of_another_city_as_contact(
    dialogue: Api, session: AsyncSession
) -> None:
    hidden = await add_person(session, "TNTUN", listed=False)

    response = await dialogue.post(
        "/v1/exchanges",
        role=Api.EDITOR,
        cities=("ITTRN",),
        json=new_exchange(contact=hidden.id),
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"contact"}
    assert hidden.name not in str(problem)


async def test_the_contact_is_hidden_from_callers_who_may_not_see_them(
    dialogue: Api, session: AsyncSession
) -> None:
    hidden = await add_person(session, "ITTRN", listed=False)
    exchange = await create(dialogue, contact=hidden.id)

    anonymous = await dialogue.get(f"/v1/exchanges/{exchange['id']}")
    editor = await dialogue.get(
        f"/v1/exchanges/{exchange['id']}", role=Api.EDITOR, cities=("ITTRN",)
    )

    assert anonymous.json()["contact"] is None, anonymous.json()
    assert editor.json()["contact"]["id"] == hidden.id


async def test_a_theme_cannot_be_repeated_among_related_themes(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/exchanges",
        role=Api.ADMIN,
        json=new_exchange(theme="health", related_themes=["health"]),
    )

    assert_problem(response, 422)


async def test_exchanges_filter_by_kind_city_theme_and_language(dialogue: Api) -> None:
    offer = await create(dialogue, related_themes=["education"])
    request = await create(dialogue, kind="request", city="LBBEY", languages=["ar"])

    async def ids(query: str) -> set[int]:
        response = await dialogue.get(f"/v1/exchanges?limit=100&{query}")
        return {item["id"] for item in response.json()["items"]}

    assert offer["id"] in await ids("kind=offer") and request["id"] not in await ids("kind=offer")
    assert request["id"] in await ids("city=LBBEY") and offer["id"] not in await ids("city=LBBEY")
    assert offer["id"] in await ids("theme=education")
    assert request["id"] in await ids("language=ar") and offer["id"] not in await ids("language=ar")


async def test_patch_closes_and_reopens_with_if_match(dialogue: Api) -> None:
    exchange = await create(dialogue)
    url = f"/v1/exchanges/{exchange['id']}"

    assert_problem(await dialogue.patch(url, role=Api.ADMIN, json={"status": "closed"}), 428)
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"5"'}, json={"status": "closed"}
    )
    assert_problem(stale, 412)
    closed = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"status": "closed"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.headers["ETag"] == '"2"'
    matched = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"status": "matched"}
    )
    assert error_fields(assert_problem(matched, 422)) == {"status"}


async def test_editor_of_another_city_cannot_change_or_remove_the_exchange(dialogue: Api) -> None:
    exchange = await create(dialogue)
    url = f"/v1/exchanges/{exchange['id']}"

    patch = await dialogue.patch(
        url,
        role=Api.EDITOR,
        cities=("PTLIS",),
        headers={"If-Match": '"1"'},
        json={"status": "closed"},
    )
    delete = await dialogue.delete(url, role=Api.EDITOR, cities=("PTLIS",))

    assert_problem(patch, 403)
    assert_problem(delete, 403)


async def test_an_unmatched_exchange_can_be_removed(dialogue: Api) -> None:
    exchange = await create(dialogue)

    response = await dialogue.delete(f"/v1/exchanges/{exchange['id']}", role=Api.ADMIN)

    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(f"/v1/exchanges/{exchange['id']}"), 404)


async def test_anyone_reads_an_exchange_with_its_etag(dialogue: Api) -> None:
    exchange = await create(dialogue, title={"en": "Diplomas", "fr": "Diplômes"})

    response = await dialogue.get(
        f"/v1/exchanges/{exchange['id']}", headers={"Accept-Language": "fr"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert (response.json()["title"], response.json()["language"]) == ("Diplômes", "fr")
    assert_problem(await dialogue.get("/v1/exchanges/987654321"), 404)


async def test_an_editor_names_listed_people_of_any_city_and_anyone_of_their_own(
    dialogue: Api, session: AsyncSession
) -> None:
    listed_elsewhere = await add_person(session, "TNTUN", listed=True)
    unlisted_at_home = await add_person(session, "ITTRN", listed=False)

    for person in (listed_elsewhere, unlisted_at_home):
        response = await dialogue.post(
            "/v1/exchanges",
            role=Api.EDITOR,
            cities=("ITTRN",),
            json=new_exchange(contact=person.id),
        )
        assert response.status_code == 201, response.text
        assert response.json()["contact"]["id"] == person.id


async def test_a_listed_contact_shows_an_email_only_with_consent_to_be_contacted(
    dialogue: Api, session: AsyncSession
) -> None:
    reserved = await add_person(session, "ITTRN", listed=True, contactable=False)
    open_to_contact = await add_person(session, "ITTRN", listed=True, contactable=True)
    reserved_exchange = await create(dialogue, contact=reserved.id)
    open_exchange = await create(dialogue, contact=open_to_contact.id)

    reserved_read = (await dialogue.get(f"/v1/exchanges/{reserved_exchange['id']}")).json()
    open_read = (await dialogue.get(f"/v1/exchanges/{open_exchange['id']}")).json()

    assert reserved_read["contact"] == {
        "id": reserved.id,
        "name": reserved.name,
        "organisation": None,
        "role": "technical_focal_point",
        "city": "ITTRN",
        "email": None,
    }
    assert open_read["contact"]["email"] == open_to_contact.email


async def test_lists_show_only_the_contacts_the_caller_may_see(
    dialogue: Api, session: AsyncSession
) -> None:
    hidden = await add_person(session, "ITTRN", listed=False)
    shown = await add_person(session, "ITTRN", listed=True)
    with_hidden = await create(dialogue, contact=hidden.id)
    with_shown = await create(dialogue, contact=shown.id)

    async def contacts(**caller: Any) -> dict[int, Any]:
        response = await dialogue.get("/v1/exchanges?city=ITTRN&limit=100", **caller)
        return {item["id"]: item["contact"] for item in response.json()["items"]}

    anonymous = await contacts()
    editor = await contacts(role=Api.EDITOR, cities=("ITTRN",))

    assert anonymous[with_hidden["id"]] is None
    assert anonymous[with_shown["id"]]["id"] == shown.id
    assert editor[with_hidden["id"]]["id"] == hidden.id


async def test_exchanges_filter_by_status(dialogue: Api) -> None:
    exchange = await create(dialogue)
    await dialogue.patch(
        f"/v1/exchanges/{exchange['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "closed"},
    )

    async def ids(status: str) -> set[int]:
        response = await dialogue.get(f"/v1/exchanges?status={status}&limit=100")
        return {item["id"] for item in response.json()["items"]}

    assert exchange["id"] in await ids("closed")
    assert exchange["id"] not in await ids("open")


async def test_exchanges_page_through_with_a_cursor(dialogue: Api) -> None:
    made = {(await create(dialogue, city="ATVIE"))["id"] for _ in range(3)}

    seen: list[int] = []
    cursor = ""
    while True:
        page = (await dialogue.get(f"/v1/exchanges?city=ATVIE&limit=2{cursor}")).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert made <= set(seen) and len(seen) == len(set(seen)), seen
    assert seen == sorted(seen), seen


async def test_patch_changes_texts_and_themes_and_raises_the_version(dialogue: Api) -> None:
    exchange = await create(dialogue)

    response = await dialogue.patch(
        f"/v1/exchanges/{exchange['id']}",
        role=Api.EDITOR,
        cities=("ITTRN",),
        headers={"If-Match": '"1"'},
        json={
            "title": {"en": "Recognising diplomas", "it": "Riconoscere i titoli"},
            "related_themes": ["education"],
            "languages": ["it"],
        },
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["titles"] == {"en": "Recognising diplomas", "it": "Riconoscere i titoli"}
    assert (changed["related_themes"], changed["languages"]) == (["education"], ["it"])
    assert changed["version"] == 2 and response.headers["ETag"] == '"2"'


async def test_patch_refuses_a_hidden_contact_and_a_theme_repeated_in_related_themes(
    dialogue: Api, session: AsyncSession
) -> None:
    hidden = await add_person(session, "TNTUN", listed=False)
    exchange = await create(dialogue, related_themes=["education"])
    url = f"/v1/exchanges/{exchange['id']}"

    contact = await dialogue.patch(
        url,
        role=Api.EDITOR,
        cities=("ITTRN",),
        headers={"If-Match": '"1"'},
        json={"contact": hidden.id},
    )
    theme = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"theme": "education"}
    )

    assert error_fields(assert_problem(contact, 422)) == {"contact"}
    assert error_fields(assert_problem(theme, 422)) == {"related_themes"}
    assert (await dialogue.get(url)).json()["version"] == 1


async def test_anonymous_callers_and_viewers_cannot_change_or_remove_an_exchange(
    dialogue: Api,
) -> None:
    exchange = await create(dialogue)
    url = f"/v1/exchanges/{exchange['id']}"
    change = {"headers": {"If-Match": '"1"'}, "json": {"status": "closed"}}

    assert_problem(await dialogue.patch(url, **change), 401)
    assert_problem(await dialogue.patch(url, role=Api.VIEWER, **change), 403)
    assert_problem(await dialogue.delete(url), 401)
    assert_problem(await dialogue.delete(url, role=Api.VIEWER), 403)


async def test_changing_or_removing_a_missing_exchange_is_not_found(dialogue: Api) -> None:
    url = "/v1/exchanges/987654321"

    patch = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"status": "closed"}
    )

    assert_problem(patch, 404)
    assert_problem(await dialogue.delete(url, role=Api.ADMIN), 404)


async def test_removal_with_a_stale_if_match_is_refused(dialogue: Api) -> None:
    exchange = await create(dialogue)
    url = f"/v1/exchanges/{exchange['id']}"

    stale = await dialogue.delete(url, role=Api.ADMIN, headers={"If-Match": '"7"'})
    current = await dialogue.delete(url, role=Api.ADMIN, headers={"If-Match": '"1"'})

    assert_problem(stale, 412)
    assert current.status_code == 204, current.text


# Proposals


async def test_requests_are_proposed_offers_of_other_cities_on_their_theme(
    dialogue: Api,
) -> None:
    request = await create(dialogue, kind="request", city="MATNG", languages=["fr"])
    other_city = await create(dialogue, city="FRLYS", languages=["fr"])
    same_city = await create(dialogue, city="MATNG", languages=["fr"])
    other_theme = await create(dialogue, city="PTLIS", theme="housing")
    closed = await create(dialogue, city="ESMAD")
    await dialogue.patch(
        f"/v1/exchanges/{closed['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "closed"},
    )

    pairs = await proposals(dialogue, f"&request={request['id']}")

    assert pairs == [(request["id"], other_city["id"])], pairs
    offered = {offer for _, offer in pairs}
    assert not offered & {same_city["id"], other_theme["id"], closed["id"]}


async def pair(dialogue: Api, request: dict[str, Any], offer: dict[str, Any]) -> dict[str, Any]:
    response = await dialogue.post(
        f"/v1/exchanges/{request['id']}/matches", role=Api.ADMIN, json={"offer": offer["id"]}
    )
    assert response.status_code == 201, response.text
    match: dict[str, Any] = response.json()
    return match


async def test_proposals_rank_shared_themes_then_languages_then_new_city_pairs(
    dialogue: Api,
) -> None:
    request = await create(
        dialogue,
        kind="request",
        city="TNTUN",
        related_themes=["intercultural", "human_rights"],
        languages=["fr", "ar"],
    )
    # Tunis and Madrid were paired before (Madrid asking, which counts the same); Tunis and
    # Lisbon never were.
    await pair(
        dialogue,
        await create(dialogue, kind="request", city="ESMAD", theme="health"),
        await create(dialogue, city="TNTUN", theme="health"),
    )
    # Created in the reverse of the expected order, so that ids never decide the ranking.
    # One theme, one language, cities paired before.
    seasoned = await create(dialogue, city="ESMAD", languages=["fr"])
    # One theme, one language, cities never paired: beats `seasoned` on the pairing alone.
    fresh = await create(dialogue, city="PTLIS", languages=["fr"])
    # One theme, two languages, cities paired before: languages beat the pairing.
    two_languages = await create(dialogue, city="ESMAD", languages=["fr", "ar"])
    # Two themes, no language, cities paired before: themes beat languages and the pairing.
    two_themes = await create(
        dialogue, city="ESMAD", related_themes=["intercultural"], languages=["it"]
    )

    response = await dialogue.get(f"/v1/exchanges/matches?request={request['id']}")
    items = response.json()["items"]

    assert [item["offer"]["id"] for item in items] == [
        two_themes["id"],
        two_languages["id"],
        fresh["id"],
        seasoned["id"],
    ], items
    assert items[0]["shared_themes"] == ["employment", "intercultural"], items[0]
    assert items[1]["shared_languages"] == ["ar", "fr"], items[1]
    assert [(item["theme_score"], item["language_score"]) for item in items] == [
        (2, 0),
        (1, 2),
        (1, 1),
        (1, 1),
    ], items
    assert [item["cities_paired_before"] for item in items] == [True, True, False, True]


async def test_equal_proposals_list_the_newest_request_first_then_offers_by_id(
    dialogue: Api,
) -> None:
    older = await create(dialogue, kind="request", city="MATNG")
    newer = await create(dialogue, kind="request", city="MATNG")
    first = await create(dialogue, city="JOAMM")
    second = await create(dialogue, city="JOAMM")

    pairs = await proposals(dialogue, "&city=JOAMM")

    assert pairs == [
        (newer["id"], first["id"]),
        (newer["id"], second["id"]),
        (older["id"], first["id"]),
        (older["id"], second["id"]),
    ], pairs


async def test_proposals_filter_by_either_city_and_by_the_requests_theme(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="MATNG")
    offer = await create(dialogue, city="JOAMM", related_themes=["housing"])
    housing = await create(dialogue, kind="request", city="ATVIE", theme="housing")
    wanted = (request["id"], offer["id"])

    assert wanted in await proposals(dialogue, "&city=MATNG")
    assert wanted in await proposals(dialogue, "&city=JOAMM")
    assert wanted not in await proposals(dialogue, "&city=PTLIS")
    response = await dialogue.get("/v1/exchanges/matches?theme=housing&limit=100")
    housing_pairs = [(i["request"]["id"], i["offer"]["id"]) for i in response.json()["items"]]
    assert (housing["id"], offer["id"]) in housing_pairs, housing_pairs
    assert all(request_id != request["id"] for request_id, _ in housing_pairs), housing_pairs


async def test_an_offer_on_a_request_s_related_theme_only_is_not_proposed(
    dialogue: Api,
) -> None:
    request = await create(dialogue, kind="request", city="MATNG", related_themes=["health"])
    health = await create(dialogue, city="JOAMM", theme="health")

    pairs = await proposals(dialogue, f"&request={request['id']}")

    assert (request["id"], health["id"]) not in pairs, pairs


async def test_a_reopened_exchange_is_proposed_again(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="MATNG")
    offer = await create(dialogue, city="JOAMM")
    url = f"/v1/exchanges/{offer['id']}"
    await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"status": "closed"}
    )
    assert (request["id"], offer["id"]) not in await proposals(dialogue)

    reopened = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"status": "open"}
    )

    assert reopened.json()["status"] == "open", reopened.text
    assert (request["id"], offer["id"]) in await proposals(dialogue)


async def test_proposals_page_through_with_a_cursor(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="JOAMM")
    offers = [await create(dialogue, city=city) for city in ("PTLIS", "ESMAD", "FRLYS")]

    seen: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(
            f"/v1/exchanges/matches?request={request['id']}&limit=2{cursor}"
        )
        page = response.json()
        seen += [item["offer"]["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert sorted(seen) == sorted(offer["id"] for offer in offers), seen
    assert len(seen) == len(set(seen)) == 3


async def test_a_forged_proposals_cursor_is_a_problem(dialogue: Api) -> None:
    proposals = "dialogue:propose_matches"
    short = encode_cursor([1], proposals)
    out_of_range = encode_cursor([-(2**40), 0, 0, 0, 0], proposals)
    not_numbers = encode_cursor(["a", 0, 0, 0, 0], proposals)

    for cursor in (short, out_of_range, not_numbers):
        response = await dialogue.get(f"/v1/exchanges/matches?cursor={cursor}")
        assert error_fields(assert_problem(response, 422)) == {"cursor"}, cursor


# Confirming a match


async def test_confirming_a_match_pairs_both_and_announces_it(
    dialogue: Api, session: AsyncSession
) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    before = await dialogue_outbox_position(session)

    response = await dialogue.post(
        f"/v1/exchanges/{request['id']}/matches",
        role=Api.EDITOR,
        cities=("LBBEY",),
        json={"offer": offer["id"]},
    )

    assert response.status_code == 201, response.text
    match = response.json()
    assert (match["request_city"], match["offer_city"]) == ("LBBEY", "ITTRN")
    for exchange in (request, offer):
        current = (await dialogue.get(f"/v1/exchanges/{exchange['id']}")).json()
        assert (current["status"], current["version"]) == ("matched", 2), current
    assert (request["id"], offer["id"]) not in await proposals(dialogue)
    assert await dialogue_outbox_since(session, before) == [
        (
            "exchange.matched",
            {
                "match_id": match["id"],
                "request_id": request["id"],
                "offer_id": offer["id"],
                "request_city": "LBBEY",
                "offer_city": "ITTRN",
                "theme": "employment",
            },
        )
    ]
    listed = await dialogue.get(f"/v1/exchanges/{offer['id']}/matches")
    assert [m["id"] for m in listed.json()["items"]] == [match["id"]]
    assert_problem(await dialogue.delete(f"/v1/exchanges/{offer['id']}", role=Api.ADMIN), 409)


async def test_editor_of_a_third_city_cannot_pair_two_others(
    dialogue: Api, session: AsyncSession
) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    before = await dialogue_outbox_position(session)

    response = await dialogue.post(
        f"/v1/exchanges/{request['id']}/matches",
        role=Api.EDITOR,
        cities=("PTLIS",),
        json={"offer": offer["id"]},
    )

    assert_problem(response, 403)
    assert await dialogue_outbox_since(session, before) == []


async def test_a_pair_is_confirmed_once(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    url = f"/v1/exchanges/{request['id']}/matches"
    assert (
        await dialogue.post(url, role=Api.ADMIN, json={"offer": offer["id"]})
    ).status_code == 201

    again = await dialogue.post(url, role=Api.ADMIN, json={"offer": offer["id"]})

    assert_problem(again, 409)


async def test_only_an_open_request_and_an_open_offer_of_another_city_pair(
    dialogue: Api,
) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    same_city = await create(dialogue, city="LBBEY")
    other_request = await create(dialogue, kind="request", city="ITTRN")
    url = f"/v1/exchanges/{request['id']}/matches"

    same = await dialogue.post(url, role=Api.ADMIN, json={"offer": same_city["id"]})
    wrong_kind = await dialogue.post(url, role=Api.ADMIN, json={"offer": other_request["id"]})
    missing = await dialogue.post(url, role=Api.ADMIN, json={"offer": 987654321})
    from_offer = await dialogue.post(
        f"/v1/exchanges/{same_city['id']}/matches", role=Api.ADMIN, json={"offer": request["id"]}
    )

    assert error_fields(assert_problem(same, 422)) == {"offer"}
    assert error_fields(assert_problem(wrong_kind, 422)) == {"offer"}
    assert error_fields(assert_problem(missing, 422)) == {"offer"}
    assert error_fields(assert_problem(from_offer, 422)) == {"exchange_id"}
    assert_problem(
        await dialogue.post(
            "/v1/exchanges/987654321/matches", role=Api.ADMIN, json={"offer": same_city["id"]}
        ),
        404,
    )


async def test_a_matched_exchange_keeps_its_status(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    await pair(dialogue, request, offer)
    url = f"/v1/exchanges/{offer['id']}"

    for status in ("open", "closed"):
        response = await dialogue.patch(
            url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"status": status}
        )
        assert error_fields(assert_problem(response, 409)) == {"status"}, status
    retitled = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"title": {"en": "Done"}}
    )
    assert retitled.status_code == 200, retitled.text
    assert retitled.json()["status"] == "matched"


async def test_the_editor_of_the_offering_city_may_confirm(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")

    response = await dialogue.post(
        f"/v1/exchanges/{request['id']}/matches",
        role=Api.EDITOR,
        cities=("ITTRN",),
        json={"offer": offer["id"]},
    )

    assert response.status_code == 201, response.text
    assert response.json()["matched_by"] == "editor@test"


async def test_anonymous_callers_and_viewers_cannot_confirm(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    url = f"/v1/exchanges/{request['id']}/matches"

    assert_problem(await dialogue.post(url, json={"offer": offer["id"]}), 401)
    assert_problem(await dialogue.post(url, role=Api.VIEWER, json={"offer": offer["id"]}), 403)


async def test_a_closed_or_matched_exchange_cannot_be_paired_and_nothing_is_announced(
    dialogue: Api, session: AsyncSession
) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    closed_offer = await create(dialogue, city="ITTRN")
    await dialogue.patch(
        f"/v1/exchanges/{closed_offer['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "closed"},
    )
    taken_request = await create(dialogue, kind="request", city="FRLYS")
    other_offer = await create(dialogue, city="ITTRN")
    await pair(dialogue, taken_request, other_offer)
    before = await dialogue_outbox_position(session)

    closed = await dialogue.post(
        f"/v1/exchanges/{request['id']}/matches",
        role=Api.ADMIN,
        json={"offer": closed_offer["id"]},
    )
    matched = await dialogue.post(
        f"/v1/exchanges/{taken_request['id']}/matches",
        role=Api.ADMIN,
        json={"offer": (await create(dialogue, city="ESMAD"))["id"]},
    )

    assert error_fields(assert_problem(closed, 409)) == {"offer"}
    assert error_fields(assert_problem(matched, 409)) == {"exchange_id"}
    assert await dialogue_outbox_since(session, before) == []
    current = (await dialogue.get(f"/v1/exchanges/{request['id']}")).json()
    assert current["status"] == "open", current


async def test_matches_of_an_exchange(dialogue: Api) -> None:
    request = await create(dialogue, kind="request", city="LBBEY")
    offer = await create(dialogue, city="ITTRN")
    unmatched = await create(dialogue, city="ESMAD")
    match = await pair(dialogue, request, offer)

    of_request = await dialogue.get(f"/v1/exchanges/{request['id']}/matches", role=Api.VIEWER)
    anonymously = await dialogue.get(f"/v1/exchanges/{request['id']}/matches")
    of_unmatched = await dialogue.get(f"/v1/exchanges/{unmatched['id']}/matches")

    assert of_request.json() == {"items": [match], "next_cursor": None}
    assert anonymously.json() == {"items": [{**match, "matched_by": None}], "next_cursor": None}
    assert of_unmatched.json() == {"items": [], "next_cursor": None}
    assert_problem(await dialogue.get("/v1/exchanges/987654321/matches"), 404)


# Confirmations racing, with transactions that commit

#: Confirmations fired at once for one request, each with an offer of its own.
RACERS = 8


@pytest.fixture(scope="module")
async def committed(
    own_database: Database, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[Database, Api]]:
    """The dialogue app on the module's own database (two cities known), and a client of it.

    The ``dialogue`` fixture runs every request in one rolled-back connection, where requests
    cannot race; here each request is a real transaction on its own connection."""
    async with own_database.sessionmaker() as setup, setup.begin():
        for code, name, region, timezone in (
            ("TNTUN", "Tunis", Region.south_mediterranean, "Africa/Tunis"),
            ("PTLIS", "Lisbon", Region.europe, "Europe/Lisbon"),
        ):
            city = CityRef(
                code=code,
                names={"en": name},
                country=code[:2],
                region=region,
                timezone=timezone,
                membership_status=MembershipStatus.confirmed,
            )
            await apply_city_upserted(setup, city, changed_at=datetime.now(UTC))
    url = own_database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, server_urls[1], db_pool_size=RACERS + 2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dialogue.test"
        ) as client:
            yield own_database, Api(client, settings)


async def test_concurrent_confirmations_for_one_request_pair_it_exactly_once(
    committed: tuple[Database, Api],
) -> None:
    database, api = committed
    request = await create(api, kind="request", city="TNTUN")
    offers = [await create(api, city="PTLIS") for _ in range(RACERS)]

    responses = await asyncio.gather(
        *(
            api.post(
                f"/v1/exchanges/{request['id']}/matches",
                role=Api.ADMIN,
                json={"offer": offer["id"]},
            )
            for offer in offers
        )
    )

    # Without the row locks each confirmation would find the request open; the losers would
    # then fail on its version (412) or pair it several times. With them, they wait for the
    # winner and find the request matched.
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * (RACERS - 1), [r.text for r in responses]
    async with database.sessionmaker() as session:
        matches = (
            await session.scalars(
                select(ExchangeMatch).where(ExchangeMatch.request_id == request["id"])
            )
        ).all()
        announced = await session.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.type == "exchange.matched")
            .where(outbox.c.envelope["data"]["request_id"].as_integer() == request["id"])
        )
    assert len(matches) == 1 and announced == 1, (matches, announced)
    still_open = [
        offer["id"]
        for offer in offers
        if (await api.get(f"/v1/exchanges/{offer['id']}")).json()["status"] == "open"
    ]
    assert len(still_open) == RACERS - 1, still_open
