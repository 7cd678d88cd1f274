"""Events of the dialogue: creation, local times, filters, visibility, status, outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.events.models import Event
from services.dialogue_api.people.models import Person
from services.dialogue_api.registrations.models import Registration
from tests.dialogue.factories import (
    add_person,
    create_event,
    dialogue_outbox_position,
    dialogue_outbox_since,
    new_event,
    register,
)
from tests.factories import Api, assert_problem, error_fields


async def ids(dialogue: Api, query: str = "", **kwargs: Any) -> list[int]:
    response = await dialogue.get(f"/v1/events?limit=100{query}", **kwargs)
    assert response.status_code == 200, response.text
    return [event["id"] for event in response.json()["items"]]


# Creating


async def test_admin_creates_an_event_stored_in_utc_and_shown_in_local_time(
    dialogue: Api,
) -> None:
    response = await dialogue.post("/v1/events", role=Api.ADMIN, json=new_event())

    assert response.status_code == 201, response.text
    event = response.json()
    assert response.headers["Location"] == f"/v1/events/{event['id']}"
    assert response.headers["ETag"] == '"1"'
    assert event["starts_at"] == "2027-03-10T08:00:00Z", event
    assert event["local_starts_at"] == "2027-03-10T09:00:00+01:00", event
    assert event["status"] == "planned"
    assert event["places"] == {"capacity": 30, "taken": 0, "available": 30, "waitlisted": 0}
    assert event["title"] == "Technical meeting of focal points"


async def test_times_follow_the_events_timezone_across_daylight_saving(dialogue: Api) -> None:
    event = await create_event(
        dialogue,
        host_city="PTLIS",
        timezone="Europe/Lisbon",
        starts_at="2027-07-01T08:00:00Z",
        ends_at="2027-07-01T16:00:00Z",
    )

    assert event["local_starts_at"] == "2027-07-01T09:00:00+01:00", event


async def test_title_follows_accept_language(dialogue: Api) -> None:
    event = await create_event(dialogue)
    response = await dialogue.get(f"/v1/events/{event['id']}", headers={"Accept-Language": "fr"})

    assert response.json()["title"] == "Réunion technique", response.json()
    assert response.json()["language"] == "fr"


async def test_editor_of_the_host_city_creates_its_event(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events", role=Api.EDITOR, cities=("TNTUN",), json=new_event()
    )

    assert response.status_code == 201, response.text


async def test_editor_of_another_city_cannot_create_an_event_hosted_elsewhere(
    dialogue: Api,
) -> None:
    response = await dialogue.post(
        "/v1/events", role=Api.EDITOR, cities=("PTLIS",), json=new_event()
    )

    assert_problem(response, 403)


async def test_only_admins_create_events_without_a_host(dialogue: Api) -> None:
    body = new_event(host_city=None, type="webinar", online_url="https://meet.example.org/x")
    refused = await dialogue.post("/v1/events", role=Api.EDITOR, cities=("TNTUN",), json=body)
    accepted = await dialogue.post("/v1/events", role=Api.ADMIN, json=body)

    assert_problem(refused, 403)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["online_url"] == "https://meet.example.org/x"


async def test_viewer_and_anonymous_cannot_create_events(dialogue: Api) -> None:
    assert_problem(await dialogue.post("/v1/events", role=Api.VIEWER, json=new_event()), 403)
    assert_problem(await dialogue.post("/v1/events", json=new_event()), 401)


async def test_unknown_cities_are_refused_naming_each_field(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events",
        role=Api.ADMIN,
        json=new_event(host_city="GRATH", participating_cities=["PTLIS", "XXABC"]),
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"host_city", "participating_cities.1"}, problem


async def test_an_event_that_ends_before_it_starts_is_refused(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events",
        role=Api.ADMIN,
        json=new_event(starts_at="2027-03-10T09:00:00Z", ends_at="2027-03-10T08:00:00Z"),
    )

    assert error_fields(assert_problem(response, 422)) == {"ends_at"}


async def test_times_without_an_offset_are_refused(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(starts_at="2027-03-10T09:00:00")
    )

    assert "starts_at" in error_fields(assert_problem(response, 422))


async def test_an_unknown_timezone_is_refused(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(timezone="Mars/Olympus")
    )

    assert error_fields(assert_problem(response, 422)) == {"timezone"}


async def test_registration_window_must_close_after_it_opens_and_before_the_end(
    dialogue: Api,
) -> None:
    backwards = await dialogue.post(
        "/v1/events",
        role=Api.ADMIN,
        json=new_event(
            registration_opens_at="2027-02-01T00:00:00Z",
            registration_closes_at="2027-01-01T00:00:00Z",
        ),
    )
    late = await dialogue.post(
        "/v1/events",
        role=Api.ADMIN,
        json=new_event(registration_closes_at="2027-04-01T00:00:00Z"),
    )

    assert error_fields(assert_problem(backwards, 422)) == {"registration_closes_at"}
    assert error_fields(assert_problem(late, 422)) == {"registration_closes_at"}


async def test_a_new_event_cannot_start_as_held(dialogue: Api) -> None:
    response = await dialogue.post("/v1/events", role=Api.ADMIN, json=new_event(status="held"))

    assert_problem(response, 422)


async def test_repeated_themes_or_cities_are_refused(dialogue: Api) -> None:
    themes = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(themes=["health", "health"])
    )
    cities = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(participating_cities=["PTLIS", "PTLIS"])
    )

    assert_problem(themes, 422)
    assert_problem(cities, 422)


async def test_creating_an_event_writes_event_changed(dialogue: Api, session: AsyncSession) -> None:
    before = await dialogue_outbox_position(session)
    event = await create_event(dialogue)

    events = await dialogue_outbox_since(session, before)
    assert events == [
        (
            "event.changed",
            {"event_id": event["id"], "status": "planned", "created": True, "changed_fields": []},
        )
    ], events


# Reading and filtering


async def test_private_events_are_hidden_from_anonymous_callers_only(dialogue: Api) -> None:
    private = await create_event(dialogue, public=False)

    assert_problem(await dialogue.get(f"/v1/events/{private['id']}"), 404)
    assert private["id"] not in await ids(dialogue)
    viewer = await dialogue.get(f"/v1/events/{private['id']}", role=Api.VIEWER)
    assert viewer.status_code == 200, viewer.text
    assert private["id"] in await ids(dialogue, role=Api.VIEWER)


async def test_events_filter_by_city_as_host_or_participant(dialogue: Api) -> None:
    hosted = await create_event(dialogue, host_city="JOAMM", participating_cities=[])
    joined = await create_event(dialogue, host_city="TNTUN", participating_cities=["JOAMM"])
    other = await create_event(dialogue, host_city="TNTUN", participating_cities=["PTLIS"])

    found = await ids(dialogue, "&city=JOAMM")

    assert hosted["id"] in found and joined["id"] in found, found
    assert other["id"] not in found, found


async def test_events_filter_by_type_theme_and_status(dialogue: Api) -> None:
    mission = await create_event(dialogue, type="reconnaissance_mission", themes=["education"])
    meeting = await create_event(dialogue, themes=["housing"], status="confirmed")

    assert mission["id"] in await ids(dialogue, "&type=reconnaissance_mission")
    assert meeting["id"] not in await ids(dialogue, "&type=reconnaissance_mission")
    both = await ids(dialogue, "&type=reconnaissance_mission&type=technical_meeting")
    assert {mission["id"], meeting["id"]} <= set(both)
    assert mission["id"] in await ids(dialogue, "&theme=education")
    assert meeting["id"] not in await ids(dialogue, "&theme=education")
    assert meeting["id"] in await ids(dialogue, "&status=confirmed")
    assert mission["id"] not in await ids(dialogue, "&status=confirmed")


async def test_events_filter_by_date_range_keeps_events_overlapping_it(dialogue: Api) -> None:
    march = await create_event(dialogue)  # 10-11 March 2027
    june = await create_event(
        dialogue, starts_at="2027-06-01T09:00:00Z", ends_at="2027-06-01T17:00:00Z"
    )

    in_march = await ids(dialogue, "&from=2027-03-11&to=2027-04-01")
    assert march["id"] in in_march and june["id"] not in in_march, in_march
    from_may = await ids(dialogue, "&from=2027-05-01T00:00:00%2B02:00")
    assert june["id"] in from_may and march["id"] not in from_may, from_may


async def test_events_are_listed_by_start_and_paged_with_a_cursor(dialogue: Api) -> None:
    created = [
        await create_event(
            dialogue, starts_at=f"2031-0{month}-01T09:00:00Z", ends_at=f"2031-0{month}-01T10:00Z"
        )
        for month in (3, 1, 2)
    ]
    seen: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(f"/v1/events?from=2031-01-01&limit=2{cursor}")
        page = response.json()
        seen += [event["id"] for event in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == [created[1]["id"], created[2]["id"], created[0]["id"]], seen


async def test_an_invalid_filter_is_a_problem_naming_the_parameter(dialogue: Api) -> None:
    response = await dialogue.get("/v1/events?type=party")

    assert error_fields(assert_problem(response, 422)) == {"type.0"}


async def test_unknown_event_is_404(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/events/999999999"), 404)


async def test_places_count_registrations_and_the_waitlist(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=2)
    people = [Person(name=f"P{i}", email=f"places{i}@example.org", role="expert") for i in range(3)]
    session.add_all(people)
    await session.flush()
    for person, status in zip(people, ("registered", "attended", "waitlisted"), strict=True):
        session.add(Registration(event_id=event["id"], person_id=person.id, status=status))
    await session.flush()

    places = (await dialogue.get(f"/v1/events/{event['id']}")).json()["places"]

    assert places == {"capacity": 2, "taken": 2, "available": 0, "waitlisted": 1}, places


# Changing


async def test_patch_needs_if_match_and_refuses_a_stale_one(dialogue: Api) -> None:
    event = await create_event(dialogue)
    url = f"/v1/events/{event['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"capacity": 40})
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"7"'}, json={"capacity": 40}
    )

    assert_problem(missing, 428)
    assert_problem(stale, 412)
    assert (await dialogue.get(url)).json()["places"]["capacity"] == 30


async def test_patch_changes_fields_and_announces_which(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.EDITOR,
        cities=("TNTUN",),
        headers={"If-Match": '"1"'},
        json={"capacity": 40, "venue": "Hôtel de Ville, Tunis", "status": "confirmed"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["status"] == "confirmed"
    events = await dialogue_outbox_since(session, before)
    assert events == [
        (
            "event.changed",
            {
                "event_id": event["id"],
                "status": "confirmed",
                "created": False,
                "changed_fields": ["capacity", "status"],
            },
        )
    ], events


async def test_a_patch_that_changes_nothing_keeps_the_version_and_announces_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"capacity": 30, "starts_at": "2027-03-10T08:00:00Z"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert await dialogue_outbox_since(session, before) == []


async def test_cancelling_writes_event_cancelled(dialogue: Api, session: AsyncSession) -> None:
    event = await create_event(dialogue)
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "cancelled"},
    )

    assert response.status_code == 200, response.text
    assert await dialogue_outbox_since(session, before) == [
        ("event.cancelled", {"event_id": event["id"]})
    ]


async def test_a_held_event_cannot_go_back_to_planned(dialogue: Api) -> None:
    event = await create_event(dialogue, status="confirmed")
    url = f"/v1/events/{event['id']}"
    held = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"status": "held"}
    )
    assert held.status_code == 200, held.text

    back = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"status": "planned"}
    )

    assert error_fields(assert_problem(back, 409)) == {"status"}


async def test_editor_cannot_move_an_event_to_a_city_they_do_not_edit(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.EDITOR,
        cities=("TNTUN",),
        headers={"If-Match": '"1"'},
        json={"host_city": "PTLIS"},
    )

    assert_problem(response, 403)


async def test_editor_of_another_city_cannot_change_the_event(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.EDITOR,
        cities=("PTLIS",),
        headers={"If-Match": '"1"'},
        json={"capacity": 5},
    )

    assert_problem(response, 403)


async def test_patch_keeps_times_in_order(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"ends_at": "2027-03-01T00:00:00Z"},
    )

    assert error_fields(assert_problem(response, 422)) == {"ends_at"}


async def test_new_times_may_not_leave_agenda_items_outside_the_event(dialogue: Api) -> None:
    event = await create_event(dialogue)  # 10 March 09:00 to 11 March 17:00, Tunis time
    item = await dialogue.post(
        f"/v1/events/{event['id']}/agenda",
        role=Api.ADMIN,
        json={
            "starts_at": "2027-03-11T14:00:00+01:00",
            "ends_at": "2027-03-11T16:00:00+01:00",
            "title": {"en": "Closing session"},
        },
    )
    assert item.status_code == 201, item.text

    shortened = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"ends_at": "2027-03-11T12:00:00+01:00"},
    )

    problem = assert_problem(shortened, 409)
    assert problem["agenda_items"] == [item.json()["id"]], problem
    assert error_fields(problem) == {"ends_at"}
    assert (await dialogue.get(f"/v1/events/{event['id']}")).json()["version"] == 1


async def test_null_is_refused_for_fields_that_cannot_be_cleared(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"title": None},
    )

    assert "title" in error_fields(assert_problem(response, 422))


# Removing


async def test_an_event_without_registrations_can_be_removed(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.delete(f"/v1/events/{event['id']}", role=Api.ADMIN)

    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(f"/v1/events/{event['id']}"), 404)


async def test_an_event_with_registrations_is_cancelled_not_removed(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    person = Person(name="Amal", email="amal.remove@example.org", role="expert")
    session.add(person)
    await session.flush()
    session.add(Registration(event_id=event["id"], person_id=person.id, status="invited"))
    await session.flush()

    response = await dialogue.delete(f"/v1/events/{event['id']}", role=Api.ADMIN)

    problem = assert_problem(response, 409)
    assert problem["dependent"] == ["registrations"], problem
    assert await session.get(Event, event["id"]) is not None


async def test_editor_of_another_city_cannot_remove_the_event(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.delete(
        f"/v1/events/{event['id']}", role=Api.EDITOR, cities=("PTLIS",)
    )

    assert_problem(response, 403)
    assert (await dialogue.get(f"/v1/events/{event['id']}")).status_code == 200


async def test_raising_the_capacity_promotes_the_waitlist_in_order(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue, capacity=1)
    people = [await add_person(session, "TNTUN") for _ in range(4)]
    statuses = [(await register(dialogue, event["id"], person.id))["status"] for person in people]
    assert statuses == ["registered", "waitlisted", "waitlisted", "waitlisted"], statuses
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"capacity": 3},
    )

    assert response.status_code == 200, response.text
    assert response.json()["places"] == {
        "capacity": 3,
        "taken": 3,
        "available": 0,
        "waitlisted": 1,
    }
    promoted = [
        data["person_id"]
        for kind, data in await dialogue_outbox_since(session, before)
        if kind == "registration.changed" and data["promoted_from_waitlist"]
    ]
    assert promoted == [people[1].id, people[2].id], promoted
