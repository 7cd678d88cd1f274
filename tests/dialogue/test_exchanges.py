"""Exchanges of expertise: offers and requests, ranked proposals, confirmed matches."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
    # Created in the reverse of the expected order, so that ids never decide the ranking.
    # One theme, one language, but Tunis and Madrid were paired before.
    seasoned = await create(dialogue, city="ESMAD", languages=["fr"])
    # One theme, one language, cities never paired.
    fresh = await create(dialogue, city="PTLIS", languages=["fr"])
    # One theme, two languages.
    two_languages = await create(dialogue, city="FRLYS", languages=["fr", "ar"])
    # Two themes but no language: themes decide first.
    two_themes = await create(
        dialogue, city="ITTRN", related_themes=["intercultural"], languages=["it"]
    )
    earlier_request = await create(dialogue, kind="request", city="TNTUN", theme="health")
    earlier_offer = await create(dialogue, city="ESMAD", theme="health")
    paired = await dialogue.post(
        f"/v1/exchanges/{earlier_request['id']}/matches",
        role=Api.ADMIN,
        json={"offer": earlier_offer["id"]},
    )
    assert paired.status_code == 201, paired.text

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
    assert [item["cities_paired_before"] for item in items] == [False, False, False, True]


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
    response = await dialogue.get("/v1/exchanges/matches?cursor=WzFd")

    assert error_fields(assert_problem(response, 422)) == {"cursor"}


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
    assert error_fields(assert_problem(from_offer, 422)) == {"request_id"}
    assert_problem(
        await dialogue.post(
            "/v1/exchanges/987654321/matches", role=Api.ADMIN, json={"offer": same_city["id"]}
        ),
        404,
    )
