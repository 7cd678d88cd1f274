"""Registrations: invitations, places and the waitlist, who may act for whom, attendance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.events.models import Event
from services.dialogue_api.registrations import service
from services.dialogue_api.registrations.models import Registration
from tests.dialogue.factories import (
    add_person,
    create_event,
    dialogue_outbox_position,
    dialogue_outbox_since,
    register,
)
from tests.factories import Api, assert_problem, error_fields

LISBON_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTLIS",)}
TUNIS_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("TNTUN",)}


def url(event: dict[str, Any], registration: dict[str, Any] | None = None) -> str:
    base = f"/v1/events/{event['id']}/registrations"
    return base if registration is None else f"{base}/{registration['id']}"


def changed(
    registration: dict[str, Any],
    status: str,
    previous: str | None,
    *,
    promoted: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The outbox event a change of ``registration`` to ``status`` writes."""
    return (
        "registration.changed",
        {
            "registration_id": registration["id"],
            "event_id": registration["event"],
            "person_id": registration["person"]["id"],
            "status": status,
            "previous_status": previous,
            "promoted_from_waitlist": promoted,
        },
    )


async def patch(
    dialogue: Api,
    event: dict[str, Any],
    registration: dict[str, Any],
    json: dict[str, Any],
    *,
    etag: str | None = None,
    role: Any = Api.ADMIN,
    cities: tuple[str, ...] = (),
) -> httpx.Response:
    current = etag or f'"{registration["version"]}"'
    return await dialogue.patch(
        url(event, registration),
        role=role,
        cities=cities,
        headers={"If-Match": current},
        json=json,
    )


async def listed(dialogue: Api, event: dict[str, Any], query: str = "", **kwargs: Any) -> list[Any]:
    """Every registration of the event the caller sees, following the cursor (pages of 2);
    the ids, and the sizes of the pages as the last element."""
    seen: list[int] = []
    sizes: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(f"{url(event)}?limit=2{query}{cursor}", **kwargs)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        sizes.append(len(page["items"]))
        if page["next_cursor"] is None:
            return [*seen, sizes]
        cursor = f"&cursor={page['next_cursor']}"


def hours(count: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=count)).isoformat()


async def started_event(dialogue: Api, **overrides: Any) -> dict[str, Any]:
    """An event in Tunis that started an hour ago and ends tomorrow."""
    return await create_event(dialogue, starts_at=hours(-1), ends_at=hours(24), **overrides)


# Registering and inviting


async def test_editor_of_the_persons_city_registers_them_and_it_is_announced(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = await add_person(session, "PTLIS")
    before = await dialogue_outbox_position(session)

    response = await dialogue.post(
        url(event),
        json={"person": person.id, "status": "registered", "needs_visa_letter": True},
        **LISBON_EDITOR,
    )

    assert response.status_code == 201, response.text
    registration = response.json()
    assert response.headers["Location"] == url(event, registration)
    assert response.headers["ETag"] == '"1"'
    assert (registration["status"], registration["person"]["id"], registration["event"]) == (
        "registered",
        person.id,
        event["id"],
    ), registration
    assert registration["needs_visa_letter"] is True
    assert registration["waitlist_position"] is None
    assert await dialogue_outbox_since(session, before) == [
        changed(registration, "registered", None)
    ]


async def test_registering_when_the_event_is_full_puts_people_on_the_waitlist_in_order(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    people = [await add_person(session) for _ in range(3)]

    made = [await register(dialogue, event["id"], person.id) for person in people]

    assert [r["status"] for r in made] == ["registered", "waitlisted", "waitlisted"], made
    assert [r["waitlist_position"] for r in made] == [None, 1, 2], made
    places = (await dialogue.get(f"/v1/events/{event['id']}")).json()["places"]
    assert places == {"capacity": 1, "taken": 1, "available": 0, "waitlisted": 2}, places


async def test_an_event_without_capacity_never_waitlists(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=None)

    made = [await register(dialogue, event["id"], (await add_person(session)).id) for _ in range(4)]

    assert {r["status"] for r in made} == {"registered"}, made


async def test_editor_of_lisbon_cannot_register_a_person_of_tunis(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, host_city="PTLIS", timezone="Europe/Lisbon")
    person = await add_person(session, "TNTUN")

    response = await dialogue.post(
        url(event), json={"person": person.id, "status": "registered"}, **LISBON_EDITOR
    )

    assert_problem(response, 403)


async def test_host_city_editor_invites_people_of_other_cities_but_cannot_register_them(
    dialogue: Api, session: AsyncSession
) -> None:
    hosted_by_lisbon = await create_event(dialogue, host_city="PTLIS", timezone="Europe/Lisbon")
    hosted_by_tunis = await create_event(dialogue)
    person = await add_person(session, "TNTUN")

    invited = await dialogue.post(
        url(hosted_by_lisbon), json={"person": person.id, "status": "invited"}, **LISBON_EDITOR
    )
    elsewhere = await dialogue.post(
        url(hosted_by_tunis), json={"person": person.id, "status": "invited"}, **LISBON_EDITOR
    )

    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "invited"
    assert_problem(elsewhere, 403)
    accepting = await patch(
        dialogue, hosted_by_lisbon, invited.json(), {"status": "registered"}, **LISBON_EDITOR
    )
    assert_problem(accepting, 403)


async def test_editor_of_the_persons_city_invites_them_to_an_event_hosted_elsewhere(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)  # hosted by Tunis
    person = await add_person(session, "PTLIS")

    response = await dialogue.post(
        url(event), json={"person": person.id, "status": "invited"}, **LISBON_EDITOR
    )

    assert response.status_code == 201, response.text


async def test_a_person_the_caller_may_not_see_is_invalid_not_missing(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, host_city="PTLIS", timezone="Europe/Lisbon")
    unlisted = await add_person(session, "TNTUN", listed=False)

    hidden = await dialogue.post(
        url(event), json={"person": unlisted.id, "status": "invited"}, **LISBON_EDITOR
    )
    missing = await dialogue.post(
        url(event), json={"person": 999_999_999, "status": "invited"}, **LISBON_EDITOR
    )

    hidden_problem, missing_problem = assert_problem(hidden, 422), assert_problem(missing, 422)
    assert error_fields(hidden_problem) == {"person"}, hidden_problem
    assert error_fields(missing_problem) == {"person"}, missing_problem
    # Nothing tells an unlisted person apart from a missing one.
    assert hidden_problem["detail"].replace(str(unlisted.id), "N") == missing_problem[
        "detail"
    ].replace("999999999", "N")
    tunis_editor = await dialogue.post(
        url(event), json={"person": unlisted.id, "status": "registered"}, **TUNIS_EDITOR
    )
    assert tunis_editor.status_code == 201, tunis_editor.text


async def test_viewers_cannot_register_and_anonymous_callers_must_authenticate(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = await add_person(session)
    body = {"person": person.id, "status": "registered"}

    assert_problem(await dialogue.post(url(event), role=Api.VIEWER, json=body), 403)
    assert_problem(await dialogue.post(url(event), json=body), 401)


async def test_a_second_registration_of_the_same_person_is_a_conflict_naming_the_first(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = await add_person(session)
    first = await register(dialogue, event["id"], person.id, status="invited")

    response = await dialogue.post(
        url(event), role=Api.ADMIN, json={"person": person.id, "status": "registered"}
    )

    problem = assert_problem(response, 409)
    assert error_fields(problem) == {"person"}, problem
    assert problem["registration_id"] == first["id"], problem


async def test_registering_is_refused_outside_the_registration_window(
    dialogue: Api, session: AsyncSession
) -> None:
    not_yet = await create_event(dialogue, registration_opens_at=hours(24 * 30))
    closed = await create_event(
        dialogue, registration_opens_at=hours(-48), registration_closes_at=hours(-24)
    )
    person = await add_person(session)

    for event, reason in ((not_yet, "opens"), (closed, "closed")):
        response = await dialogue.post(
            url(event), role=Api.ADMIN, json={"person": person.id, "status": "registered"}
        )
        problem = assert_problem(response, 409)
        assert error_fields(problem) == {"status"}, problem
        assert reason in problem["detail"], problem
    # Inviting does not wait for the window.
    await register(dialogue, not_yet["id"], person.id, status="invited")


async def test_nobody_registers_for_or_is_invited_to_a_cancelled_event(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    cancelled = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "cancelled"},
    )
    assert cancelled.status_code == 200, cancelled.text
    person = await add_person(session)

    for status in ("registered", "invited"):
        response = await dialogue.post(
            url(event), role=Api.ADMIN, json={"person": person.id, "status": status}
        )
        problem = assert_problem(response, 409)
        assert error_fields(problem) == {"status"}, problem
        assert "cancelled" in problem["detail"], problem


async def test_interpretation_must_be_into_a_language_the_event_offers(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, interpretation=["fr", "ar"])
    without = await create_event(dialogue)

    offered = await dialogue.post(
        url(event),
        role=Api.ADMIN,
        json={"person": (await add_person(session)).id, "interpretation_language": "ar"},
    )
    refused = await dialogue.post(
        url(event),
        role=Api.ADMIN,
        json={"person": (await add_person(session)).id, "interpretation_language": "pt"},
    )
    anything = await dialogue.post(
        url(without),
        role=Api.ADMIN,
        json={"person": (await add_person(session)).id, "interpretation_language": "pt"},
    )

    assert offered.status_code == 201, offered.text
    assert offered.json()["interpretation_language"] == "ar"
    assert error_fields(assert_problem(refused, 422)) == {"interpretation_language"}
    assert anything.status_code == 201, anything.text


async def test_a_new_registration_is_invited_or_registered_only(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = await add_person(session)

    waitlisted = await dialogue.post(
        url(event), role=Api.ADMIN, json={"person": person.id, "status": "waitlisted"}
    )
    unknown = await dialogue.post(
        url(event), role=Api.ADMIN, json={"person": person.id, "seat": "A1"}
    )

    assert error_fields(assert_problem(waitlisted, 422)) == {"status"}
    assert error_fields(assert_problem(unknown, 422)) == {"seat"}


async def test_registering_for_an_unknown_event_is_404(
    dialogue: Api, session: AsyncSession
) -> None:
    person = await add_person(session)

    response = await dialogue.post(
        "/v1/events/999999999/registrations", role=Api.ADMIN, json={"person": person.id}
    )

    assert_problem(response, 404)


# Reading


async def test_a_registration_is_read_with_its_etag_only_under_its_event(
    dialogue: Api, session: AsyncSession
) -> None:
    event, other = await create_event(dialogue), await create_event(dialogue)
    registration = await register(dialogue, event["id"], (await add_person(session)).id)

    found = await dialogue.get(url(event, registration))
    elsewhere = await dialogue.get(url(other, registration))

    assert found.status_code == 200, found.text
    assert found.headers["ETag"] == '"1"'
    assert found.json()["id"] == registration["id"]
    assert_problem(elsewhere, 404)
    assert_problem(await dialogue.get(f"{url(event)}/999999999"), 404)


async def test_unlisted_people_are_listed_only_for_admins_and_editors_of_their_city(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=None)
    public = [await add_person(session, "PTLIS") for _ in range(3)]
    of_tunis = [await add_person(session, "TNTUN", listed=False) for _ in range(2)]
    of_lisbon = await add_person(session, "PTLIS", listed=False)
    made = {
        person.id: await register(dialogue, event["id"], person.id)
        for person in [public[0], of_tunis[0], public[1], of_lisbon, of_tunis[1], public[2]]
    }
    ids = {person_id: registration["id"] for person_id, registration in made.items()}
    listed_ids = [ids[p.id] for p in public]
    tunis_ids = [ids[p.id] for p in of_tunis]

    # Pages keep their size: the hidden people are left out by the query, not after it.
    assert await listed(dialogue, event) == [*listed_ids, [2, 1]]
    assert await listed(dialogue, event, role=Api.VIEWER) == [*listed_ids, [2, 1]]
    assert await listed(dialogue, event, **TUNIS_EDITOR) == [
        *sorted(listed_ids + tunis_ids),
        [2, 2, 1],
    ]
    assert len(await listed(dialogue, event, role=Api.ADMIN)) == 6 + 1
    hidden = {"id": ids[of_tunis[0].id]}
    assert_problem(await dialogue.get(url(event, hidden)), 404)
    assert_problem(await dialogue.get(url(event, hidden), **LISBON_EDITOR), 404)
    assert (await dialogue.get(url(event, hidden), **TUNIS_EDITOR)).status_code == 200


async def test_registrations_of_a_private_event_are_hidden_from_anonymous_callers(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, public=False)
    registration = await register(dialogue, event["id"], (await add_person(session)).id)

    assert_problem(await dialogue.get(url(event)), 404)
    assert_problem(await dialogue.get(url(event, registration)), 404)
    assert await listed(dialogue, event, role=Api.VIEWER) == [registration["id"], [1]]


async def test_the_list_filters_by_status_and_shows_waitlist_positions(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    invited = await register(
        dialogue, event["id"], (await add_person(session)).id, status="invited"
    )
    made = [await register(dialogue, event["id"], (await add_person(session)).id) for _ in range(3)]

    response = await dialogue.get(f"{url(event)}?status=waitlisted&status=invited")

    items = response.json()["items"]
    assert [(r["id"], r["waitlist_position"]) for r in items] == [
        (invited["id"], None),
        (made[1]["id"], 1),
        (made[2]["id"], 2),
    ], items
    bad = await dialogue.get(f"{url(event)}?status=maybe")
    assert error_fields(assert_problem(bad, 422)) == {"status.0"}


async def test_the_note_is_shown_only_to_managers_of_the_persons_or_the_host_city(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)  # hosted by Tunis
    person = await add_person(session, "PTLIS")
    registration = await register(
        dialogue, event["id"], person.id, note="Arrives the evening before."
    )

    def note(response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()["note"]

    target = url(event, registration)
    assert note(await dialogue.get(target, role=Api.ADMIN)) == "Arrives the evening before."
    assert note(await dialogue.get(target, **LISBON_EDITOR)) == "Arrives the evening before."
    assert note(await dialogue.get(target, **TUNIS_EDITOR)) == "Arrives the evening before."
    assert note(await dialogue.get(target, role=Api.EDITOR, cities=("ESMAD",))) is None
    assert note(await dialogue.get(target, role=Api.VIEWER)) is None
    assert note(await dialogue.get(target)) is None


# Changing


async def test_a_change_needs_if_match_and_refuses_a_stale_one(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    registration = await register(dialogue, event["id"], (await add_person(session)).id)

    missing = await dialogue.patch(
        url(event, registration), role=Api.ADMIN, json={"needs_visa_letter": True}
    )
    stale = await patch(dialogue, event, registration, {"needs_visa_letter": True}, etag='"9"')

    assert_problem(missing, 428)
    assert_problem(stale, 412)
    assert (await dialogue.get(url(event, registration))).json()["needs_visa_letter"] is False


async def test_needs_and_note_are_changed_by_the_persons_city(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, interpretation=["fr"])
    registration = await register(
        dialogue, event["id"], (await add_person(session, "PTLIS")).id, note="Vegetarian"
    )

    response = await patch(
        dialogue,
        event,
        registration,
        {"needs_visa_letter": True, "interpretation_language": "fr", "note": None},
        **LISBON_EDITOR,
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    changed_registration = response.json()
    assert changed_registration["needs_visa_letter"] is True
    assert changed_registration["interpretation_language"] == "fr"
    assert changed_registration["note"] is None
    not_offered = await patch(
        dialogue, event, changed_registration, {"interpretation_language": "ar"}
    )
    assert error_fields(assert_problem(not_offered, 422)) == {"interpretation_language"}
    cleared = await patch(dialogue, event, changed_registration, {"needs_visa_letter": None})
    assert error_fields(assert_problem(cleared, 422)) == {"needs_visa_letter"}


async def test_a_change_that_changes_nothing_keeps_the_etag_and_announces_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    registration = await register(dialogue, event["id"], (await add_person(session)).id)
    before = await dialogue_outbox_position(session)

    response = await patch(
        dialogue, event, registration, {"status": "registered", "needs_visa_letter": False}
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert await dialogue_outbox_since(session, before) == []


async def test_only_the_persons_city_changes_a_registration(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)  # hosted by Tunis
    registration = await register(dialogue, event["id"], (await add_person(session, "PTLIS")).id)
    body = {"status": "cancelled"}

    assert_problem(await patch(dialogue, event, registration, body, **TUNIS_EDITOR), 403)
    madrid = await patch(dialogue, event, registration, body, role=Api.EDITOR, cities=("ESMAD",))
    assert_problem(madrid, 403)
    assert_problem(await patch(dialogue, event, registration, body, role=Api.VIEWER), 403)
    anonymous = await dialogue.patch(
        url(event, registration), headers={"If-Match": '"1"'}, json=body
    )
    assert_problem(anonymous, 401)
    accepted = await patch(dialogue, event, registration, body, **LISBON_EDITOR)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "cancelled"


async def test_a_registration_of_someone_the_caller_may_not_see_cannot_be_changed(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    registration = await register(
        dialogue, event["id"], (await add_person(session, "TNTUN", listed=False)).id
    )

    response = await patch(dialogue, event, registration, {"status": "cancelled"}, **LISBON_EDITOR)

    assert_problem(response, 404)


async def test_an_invited_person_registers_and_it_is_announced_with_the_previous_status(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    invitation = await register(
        dialogue, event["id"], (await add_person(session)).id, status="invited"
    )
    before = await dialogue_outbox_position(session)

    response = await patch(dialogue, event, invitation, {"status": "registered"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "registered"
    assert response.headers["ETag"] == '"2"'
    assert await dialogue_outbox_since(session, before) == [
        changed(invitation, "registered", "invited")
    ]


async def test_illegal_transitions_are_conflicts_naming_status(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    invitation = await register(
        dialogue, event["id"], (await add_person(session)).id, status="invited"
    )
    await register(dialogue, event["id"], (await add_person(session)).id)
    waiting = await register(dialogue, event["id"], (await add_person(session)).id)
    assert waiting["status"] == "waitlisted"

    for registration, status, hint in (
        (invitation, "cancelled", "invited to cancelled"),
        (invitation, "attended", "invited to attended"),
        (waiting, "registered", "frees"),
        (waiting, "declined", "waitlisted to declined"),
    ):
        response = await patch(dialogue, event, registration, {"status": status})
        problem = assert_problem(response, 409)
        assert error_fields(problem) == {"status"}, problem
        assert hint in problem["errors"][0]["detail"], problem


async def test_registering_again_after_cancelling_goes_back_through_the_capacity(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    first = await register(dialogue, event["id"], (await add_person(session)).id)
    cancelled = await patch(dialogue, event, first, {"status": "cancelled"})
    assert cancelled.json()["status"] == "cancelled", cancelled.text
    second = await register(dialogue, event["id"], (await add_person(session)).id)
    assert second["status"] == "registered"

    again = await patch(dialogue, event, cancelled.json(), {"status": "registered"})

    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["waitlist_position"]) == ("waitlisted", 1)


async def test_declined_invitation_can_still_be_accepted(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    invitation = await register(
        dialogue, event["id"], (await add_person(session)).id, status="invited"
    )
    declined = await patch(dialogue, event, invitation, {"status": "declined"})
    assert declined.json()["status"] == "declined", declined.text

    accepted = await patch(dialogue, event, declined.json(), {"status": "registered"})

    assert accepted.json()["status"] == "registered", accepted.text


async def test_accepting_an_invitation_after_registration_closed_is_a_conflict(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    invitation = await register(
        dialogue, event["id"], (await add_person(session)).id, status="invited"
    )
    stored = await session.get(Event, event["id"])
    assert stored is not None
    stored.registration_closes_at = datetime.now(UTC) - timedelta(minutes=1)
    await session.flush()

    response = await patch(dialogue, event, invitation, {"status": "registered"})

    problem = assert_problem(response, 409)
    assert error_fields(problem) == {"status"}, problem


# The waitlist


async def test_cancelling_places_promotes_the_earliest_waiting_in_order(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=2)
    holders = [await register(dialogue, event["id"], (await add_person(session)).id) for _ in "ab"]
    waiting = [await register(dialogue, event["id"], (await add_person(session)).id) for _ in "cde"]
    assert [r["waitlist_position"] for r in waiting] == [1, 2, 3], waiting
    before = await dialogue_outbox_position(session)

    for holder in holders:
        response = await patch(dialogue, event, holder, {"status": "cancelled"})
        assert response.status_code == 200, response.text

    assert await dialogue_outbox_since(session, before) == [
        changed(holders[0], "cancelled", "registered"),
        changed(waiting[0], "registered", "waitlisted", promoted=True),
        changed(holders[1], "cancelled", "registered"),
        changed(waiting[1], "registered", "waitlisted", promoted=True),
    ]
    now = {
        r["id"]: (r["status"], r["waitlist_position"])
        for r in (await dialogue.get(url(event))).json()["items"]
    }
    assert [now[r["id"]] for r in waiting] == [
        ("registered", None),
        ("registered", None),
        ("waitlisted", 1),
    ], now
    promoted = (await dialogue.get(url(event, waiting[0]))).json()
    assert promoted["version"] == 2, promoted


async def test_declining_a_place_gives_it_to_the_first_waiting(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    holder = await register(dialogue, event["id"], (await add_person(session)).id)
    waiting = await register(dialogue, event["id"], (await add_person(session)).id)

    declined = await patch(dialogue, event, holder, {"status": "declined"})

    assert declined.json()["status"] == "declined", declined.text
    assert (await dialogue.get(url(event, waiting))).json()["status"] == "registered"


async def test_leaving_the_waitlist_frees_no_place_and_moves_the_others_up(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    await register(dialogue, event["id"], (await add_person(session)).id)
    first, second = [
        await register(dialogue, event["id"], (await add_person(session)).id) for _ in "ab"
    ]

    left = await patch(dialogue, event, first, {"status": "cancelled"})

    assert (left.json()["status"], left.json()["waitlist_position"]) == ("cancelled", None)
    after = (await dialogue.get(url(event, second))).json()
    assert (after["status"], after["waitlist_position"]) == ("waitlisted", 1), after


async def test_promotion_follows_waitlisted_at_not_id_and_fills_every_free_place(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=0)
    people = [await add_person(session) for _ in range(3)]
    start = datetime.now(UTC) - timedelta(hours=1)
    # Stored with ids in the opposite order of their arrival on the waitlist.
    rows = [
        Registration(
            event_id=event["id"],
            person_id=person.id,
            status="waitlisted",
            waitlisted_at=start + timedelta(minutes=10 - minutes),
        )
        for minutes, person in enumerate(people)
    ]
    session.add_all(rows)
    await session.flush()
    stored = await session.get(Event, event["id"])
    assert stored is not None
    stored.capacity = 2
    await session.flush()
    before = await dialogue_outbox_position(session)

    promoted = await service.promote_waitlist(session, stored, actor="admin@test")

    assert [r.id for r in promoted] == [rows[2].id, rows[1].id], promoted
    events = await dialogue_outbox_since(session, before)
    assert [(data["registration_id"], data["promoted_from_waitlist"]) for _, data in events] == [
        (rows[2].id, True),
        (rows[1].id, True),
    ], events
    statuses = await session.scalars(
        select(Registration.status)
        .where(Registration.id.in_([r.id for r in rows]))
        .order_by(Registration.id)
    )
    assert list(statuses) == ["waitlisted", "registered", "registered"]


async def test_an_event_that_is_over_promotes_nobody(dialogue: Api, session: AsyncSession) -> None:
    event = await create_event(dialogue, capacity=0)
    person = await add_person(session)
    session.add(
        Registration(
            event_id=event["id"],
            person_id=person.id,
            status="waitlisted",
            waitlisted_at=datetime.now(UTC),
        )
    )
    stored = await session.get(Event, event["id"])
    assert stored is not None
    stored.capacity = 5
    stored.status = "held"
    await session.flush()

    assert await service.promote_waitlist(session, stored, actor="admin@test") == []


# Attendance


async def test_the_host_city_records_attendance_once_the_event_has_started(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await started_event(dialogue)  # hosted by Tunis
    registration = await register(dialogue, event["id"], (await add_person(session, "PTLIS")).id)

    by_persons_city = await patch(
        dialogue, event, registration, {"status": "attended"}, **LISBON_EDITOR
    )
    by_host = await patch(dialogue, event, registration, {"status": "attended"}, **TUNIS_EDITOR)

    assert_problem(by_persons_city, 403)
    assert by_host.status_code == 200, by_host.text
    assert by_host.json()["status"] == "attended"
    final = await patch(dialogue, event, by_host.json(), {"status": "cancelled"})
    assert error_fields(assert_problem(final, 409)) == {"status"}


async def test_admins_record_attendance_too(dialogue: Api, session: AsyncSession) -> None:
    event = await started_event(dialogue)
    registration = await register(dialogue, event["id"], (await add_person(session)).id)

    response = await patch(dialogue, event, registration, {"status": "attended"})

    assert response.json()["status"] == "attended", response.text


async def test_attendance_before_the_event_starts_is_a_conflict(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)  # March 2027
    registration = await register(dialogue, event["id"], (await add_person(session)).id)

    response = await patch(dialogue, event, registration, {"status": "attended"}, **TUNIS_EDITOR)

    problem = assert_problem(response, 409)
    assert error_fields(problem) == {"status"}, problem
    assert "starts" in problem["detail"], problem


async def test_a_registered_persons_email_is_shown_per_their_consent(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    reachable = await register(
        dialogue, event["id"], (await add_person(session, "PTLIS", contactable=True)).id
    )
    private = await register(dialogue, event["id"], (await add_person(session, "PTLIS")).id)

    def email(response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()["person"]["email"]

    assert email(await dialogue.get(url(event, reachable))) is not None
    assert email(await dialogue.get(url(event, private))) is None
    assert email(await dialogue.get(url(event, private), **LISBON_EDITOR)) is not None
