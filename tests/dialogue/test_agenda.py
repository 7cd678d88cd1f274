"""An event's programme: items inside the event, rooms without double booking, speakers in
order and only as far as the caller may see them, editors of the host city only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.dialogue_api.agenda import service
from services.dialogue_api.agenda.schemas import AgendaItemCreate
from services.dialogue_api.events.models import Event
from services.dialogue_api.people.models import Person
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import Conflict
from tests.dialogue.factories import create_event
from tests.factories import Api, assert_problem, error_fields
from tests.waiting import wait_until_blocked_by

TUNIS = ("TNTUN",)  # the host of the events `create_event` makes


def new_item(**overrides: Any) -> dict[str, Any]:
    """A valid item: 10:00-11:00 in Tunis on the first day of the default event, in room A."""
    body: dict[str, Any] = {
        "starts_at": "2027-03-10T10:00:00+01:00",
        "ends_at": "2027-03-10T11:00:00+01:00",
        "title": {"en": "Opening session", "fr": "Séance d'ouverture"},
        "room": "Room A",
        "theme": "housing",
    }
    body.update(overrides)
    return body


def agenda(event: dict[str, Any]) -> str:
    return f"/v1/events/{event['id']}/agenda"


async def add_item(dialogue: Api, event: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    response = await dialogue.post(agenda(event), role=Api.ADMIN, json=new_item(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def person(
    session: AsyncSession, name: str, *, city: str | None = None, listed: bool = True
) -> int:
    """A person stored directly; their id."""
    row = Person(
        name=name,
        email=f"{name.lower().replace(' ', '.')}@agenda.example.org",
        role="expert",
        city_code=city,
        consent_listed=listed,
    )
    session.add(row)
    await session.flush()
    return row.id


def speaker_ids(item: dict[str, Any]) -> list[int]:
    return [speaker["id"] for speaker in item["speakers"]]


# Creating


async def test_editor_of_the_host_city_adds_an_item_shown_in_local_time(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(agenda(event), role=Api.EDITOR, cities=TUNIS, json=new_item())

    assert response.status_code == 201, response.text
    item = response.json()
    assert response.headers["Location"] == f"{agenda(event)}/{item['id']}"
    assert response.headers["ETag"] == '"1"'
    assert item["starts_at"] == "2027-03-10T09:00:00Z", item
    assert item["local_starts_at"] == "2027-03-10T10:00:00+01:00", item
    assert (item["title"], item["room"], item["theme"]) == ("Opening session", "Room A", "housing")
    assert item["event_id"] == event["id"]


async def test_speakers_keep_the_order_given(dialogue: Api, session: AsyncSession) -> None:
    event = await create_event(dialogue)
    first = await person(session, "Zeynep Speaker")
    second = await person(session, "Ahmed Speaker")
    third = await person(session, "Maria Speaker")

    item = await add_item(dialogue, event, speakers=[second, third, first])
    read = (await dialogue.get(f"{agenda(event)}/{item['id']}")).json()

    assert speaker_ids(item) == [second, third, first], item["speakers"]
    assert speaker_ids(read) == [second, third, first], read["speakers"]
    assert read["speakers"][0]["name"] == "Ahmed Speaker"


async def test_title_follows_accept_language(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)

    response = await dialogue.get(
        f"{agenda(event)}/{item['id']}", headers={"Accept-Language": "fr"}
    )

    assert (response.json()["title"], response.json()["language"]) == (
        "Séance d'ouverture",
        "fr",
    )


async def test_anonymous_viewer_and_other_editors_cannot_add_items(dialogue: Api) -> None:
    event = await create_event(dialogue)

    assert_problem(await dialogue.post(agenda(event), json=new_item()), 401)
    assert_problem(await dialogue.post(agenda(event), role=Api.VIEWER, json=new_item()), 403)
    other = await dialogue.post(agenda(event), role=Api.EDITOR, cities=("PTLIS",), json=new_item())
    assert_problem(other, 403)
    assert (await dialogue.get(agenda(event))).json()["items"] == []


async def test_items_of_an_unknown_event_are_404(dialogue: Api) -> None:
    assert_problem(
        await dialogue.post("/v1/events/999999999/agenda", role=Api.ADMIN, json=new_item()), 404
    )
    assert_problem(await dialogue.get("/v1/events/999999999/agenda"), 404)


# The event's bounds


async def test_an_item_before_the_event_starts_is_refused_naming_starts_at(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-10T08:59:00+01:00"),
    )

    assert error_fields(assert_problem(response, 422)) == {"starts_at"}


async def test_an_item_after_the_event_ends_is_refused_naming_ends_at(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-11T16:00:00+01:00", ends_at="2027-03-11T17:01:00+01:00"),
    )

    assert error_fields(assert_problem(response, 422)) == {"ends_at"}


async def test_an_item_that_fills_the_whole_event_is_accepted(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at=event["starts_at"], ends_at=event["ends_at"]),
    )

    assert response.status_code == 201, response.text


async def test_an_item_that_ends_before_it_starts_is_refused(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-10T11:00:00+01:00", ends_at="2027-03-10T11:00:00+01:00"),
    )

    assert error_fields(assert_problem(response, 422)) == {"ends_at"}


async def test_times_without_an_offset_are_refused(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event), role=Api.ADMIN, json=new_item(starts_at="2027-03-10T10:00:00")
    )

    assert "starts_at" in error_fields(assert_problem(response, 422))


# Rooms


async def test_an_item_overlapping_another_in_the_same_room_is_a_409_naming_it(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    taken = await add_item(dialogue, event)  # 10:00-11:00 in Room A

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(
            starts_at="2027-03-10T10:30:00+01:00",
            ends_at="2027-03-10T12:00:00+01:00",
            room="room a",
        ),
    )

    problem = assert_problem(response, 409)
    assert error_fields(problem) == {"starts_at", "room"}, problem
    assert problem["conflicting_item"] == {
        "id": taken["id"],
        "room": "Room A",
        "starts_at": "2027-03-10T09:00:00+00:00",
        "ends_at": "2027-03-10T10:00:00+00:00",
    }, problem
    assert len((await dialogue.get(agenda(event))).json()["items"]) == 1


async def test_an_item_inside_another_in_the_same_room_is_refused(dialogue: Api) -> None:
    event = await create_event(dialogue)
    await add_item(dialogue, event, starts_at="2027-03-10T10:00:00+01:00")

    response = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-10T10:15:00+01:00", ends_at="2027-03-10T10:45:00+01:00"),
    )

    assert_problem(response, 409)


async def test_the_same_time_in_another_room_or_without_a_room_is_accepted(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    await add_item(dialogue, event)

    other_room = await dialogue.post(agenda(event), role=Api.ADMIN, json=new_item(room="Room B"))
    no_room = await dialogue.post(agenda(event), role=Api.ADMIN, json=new_item(room=None))
    no_room_again = await dialogue.post(agenda(event), role=Api.ADMIN, json=new_item(room=None))

    for response in (other_room, no_room, no_room_again):
        assert response.status_code == 201, response.text


async def test_the_same_room_at_the_same_time_in_another_event_is_accepted(
    dialogue: Api,
) -> None:
    first = await create_event(dialogue)
    second = await create_event(dialogue)
    await add_item(dialogue, first)

    response = await dialogue.post(agenda(second), role=Api.ADMIN, json=new_item())

    assert response.status_code == 201, response.text


async def test_items_that_touch_in_the_same_room_are_accepted(dialogue: Api) -> None:
    event = await create_event(dialogue)
    await add_item(dialogue, event)  # 10:00-11:00

    after = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-10T11:00:00+01:00", ends_at="2027-03-10T12:00:00+01:00"),
    )
    before = await dialogue.post(
        agenda(event),
        role=Api.ADMIN,
        json=new_item(starts_at="2027-03-10T09:00:00+01:00", ends_at="2027-03-10T10:00:00+01:00"),
    )

    assert after.status_code == 201, after.text
    assert before.status_code == 201, before.text


async def test_a_blank_room_is_refused(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(agenda(event), role=Api.ADMIN, json=new_item(room="  "))

    assert error_fields(assert_problem(response, 422)) == {"room"}


# Speakers


async def test_an_unknown_speaker_is_refused_naming_its_position(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    known = await person(session, "Known Speaker")

    response = await dialogue.post(
        agenda(event), role=Api.ADMIN, json=new_item(speakers=[known, 999999999])
    )

    assert error_fields(assert_problem(response, 422)) == {"speakers.1"}


async def test_editor_cannot_name_an_unlisted_person_of_another_city(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    hidden = await person(session, "Hidden Lisboeta", city="PTLIS", listed=False)
    own = await person(session, "Unlisted Tunisois", city="TNTUN", listed=False)

    refused = await dialogue.post(
        agenda(event), role=Api.EDITOR, cities=TUNIS, json=new_item(speakers=[hidden])
    )
    accepted = await dialogue.post(
        agenda(event), role=Api.EDITOR, cities=TUNIS, json=new_item(speakers=[own])
    )

    problem = assert_problem(refused, 422)
    assert error_fields(problem) == {"speakers.0"}, problem
    assert "Hidden" not in refused.text
    assert accepted.status_code == 201, accepted.text


async def test_a_speaker_listed_twice_is_refused(dialogue: Api, session: AsyncSession) -> None:
    event = await create_event(dialogue)
    speaker = await person(session, "Twice Speaker")

    response = await dialogue.post(
        agenda(event), role=Api.ADMIN, json=new_item(speakers=[speaker, speaker])
    )

    assert error_fields(assert_problem(response, 422)) == {"speakers"}


async def test_unlisted_speakers_are_hidden_from_those_who_may_not_see_them(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    listed = await person(session, "Listed Speaker", city="ITTRN")
    unlisted = await person(session, "Unlisted Speaker", city="TNTUN", listed=False)
    item = await add_item(dialogue, event, speakers=[unlisted, listed])
    url = f"{agenda(event)}/{item['id']}"

    anonymous = (await dialogue.get(url)).json()
    in_list = (await dialogue.get(agenda(event))).json()["items"][0]
    viewer = (await dialogue.get(url, role=Api.VIEWER)).json()
    editor = (await dialogue.get(url, role=Api.EDITOR, cities=TUNIS)).json()

    assert speaker_ids(anonymous) == [listed], anonymous["speakers"]
    assert "Unlisted" not in str(anonymous)
    assert speaker_ids(in_list) == [listed], in_list["speakers"]
    assert speaker_ids(viewer) == [listed], viewer["speakers"]
    assert speaker_ids(editor) == [unlisted, listed], editor["speakers"]


# Reading


async def test_the_programme_is_listed_by_start_and_paged_with_a_cursor(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = [
        await add_item(
            dialogue,
            event,
            starts_at=f"2027-03-10T{hour}:00:00+01:00",
            ends_at=f"2027-03-10T{hour}:30:00+01:00",
        )
        for hour in (14, 10, 12)
    ]
    seen: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(f"{agenda(event)}?limit=2{cursor}")
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == [created[1]["id"], created[2]["id"], created[0]["id"]], seen


async def test_the_programme_filters_by_room_and_theme(dialogue: Api) -> None:
    event = await create_event(dialogue)
    housing = await add_item(dialogue, event)
    health = await add_item(dialogue, event, room="Room B", theme="health")

    by_room = (await dialogue.get(f"{agenda(event)}?room=room%20b")).json()["items"]
    by_theme = (await dialogue.get(f"{agenda(event)}?theme=housing")).json()["items"]

    assert [item["id"] for item in by_room] == [health["id"]], by_room
    assert [item["id"] for item in by_theme] == [housing["id"]], by_theme
    assert error_fields(
        assert_problem(await dialogue.get(f"{agenda(event)}?theme=astrology"), 422)
    ) == {"theme"}


@contextmanager
def counting_statements(connection: AsyncConnection) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sync = connection.sync_connection
    assert sync is not None
    sa_event.listen(sync, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(sync, "before_cursor_execute", count)


async def test_listing_loads_speakers_of_a_page_in_one_query(
    dialogue: Api, session: AsyncSession, connection: AsyncConnection
) -> None:
    small, large = await create_event(dialogue), await create_event(dialogue)
    speakers = [await person(session, f"Counted Speaker {n}") for n in range(3)]
    await add_item(dialogue, small, speakers=speakers[:1])
    for hour in range(10, 16):
        await add_item(
            dialogue,
            large,
            starts_at=f"2027-03-10T{hour}:00:00+01:00",
            ends_at=f"2027-03-10T{hour}:30:00+01:00",
            speakers=speakers,
        )

    with counting_statements(connection) as for_one:
        assert (await dialogue.get(agenda(small))).status_code == 200
    with counting_statements(connection) as for_six:
        page = (await dialogue.get(agenda(large))).json()

    assert len(page["items"]) == 6 and all(speaker_ids(i) == speakers for i in page["items"])
    assert len(for_six) == len(for_one), for_six


async def test_an_item_of_another_event_is_404(dialogue: Api) -> None:
    event, other = await create_event(dialogue), await create_event(dialogue)
    item = await add_item(dialogue, event)

    assert_problem(await dialogue.get(f"{agenda(other)}/{item['id']}"), 404)
    assert_problem(await dialogue.get(f"{agenda(event)}/999999999"), 404)
    response = await dialogue.get(f"{agenda(event)}/{item['id']}")
    assert response.status_code == 200 and response.headers["ETag"] == '"1"', response.text


async def test_the_programme_of_a_private_event_is_hidden_from_anonymous_callers(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue, public=False)
    item = await add_item(dialogue, event)

    assert_problem(await dialogue.get(agenda(event)), 404)
    assert_problem(await dialogue.get(f"{agenda(event)}/{item['id']}"), 404)
    viewer = await dialogue.get(agenda(event), role=Api.VIEWER)
    assert [i["id"] for i in viewer.json()["items"]] == [item["id"]], viewer.text


# Changing


async def test_patch_needs_if_match_and_refuses_a_stale_one(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)
    url = f"{agenda(event)}/{item['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"room": "Room C"})
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"7"'}, json={"room": "Room C"}
    )

    assert_problem(missing, 428)
    assert_problem(stale, 412)
    assert (await dialogue.get(url)).json()["room"] == "Room A"


async def test_editor_of_the_host_city_changes_an_item(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)

    response = await dialogue.patch(
        f"{agenda(event)}/{item['id']}",
        role=Api.EDITOR,
        cities=TUNIS,
        headers={"If-Match": '"1"'},
        json={"title": {"en": "Welcome"}, "room": None, "theme": None},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    changed = response.json()
    assert (changed["title"], changed["room"], changed["theme"]) == ("Welcome", None, None)


async def test_other_callers_cannot_change_or_remove_an_item(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)
    url = f"{agenda(event)}/{item['id']}"
    change = {"headers": {"If-Match": '"1"'}, "json": {"room": "Room Z"}}

    assert_problem(await dialogue.patch(url, **change), 401)
    assert_problem(await dialogue.patch(url, role=Api.VIEWER, **change), 403)
    assert_problem(await dialogue.patch(url, role=Api.EDITOR, cities=("PTLIS",), **change), 403)
    assert_problem(await dialogue.delete(url), 401)
    assert_problem(await dialogue.delete(url, role=Api.EDITOR, cities=("PTLIS",)), 403)
    assert (await dialogue.get(url)).json()["room"] == "Room A"


async def test_changing_only_the_speakers_moves_the_version(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    first = await person(session, "First Patched")
    second = await person(session, "Second Patched")
    item = await add_item(dialogue, event, speakers=[first])
    url = f"{agenda(event)}/{item['id']}"

    response = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"speakers": [second, first]}
    )
    same = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"2"'}, json={"speakers": [second, first]}
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert speaker_ids(response.json()) == [second, first]
    assert same.headers["ETag"] == '"2"', "the same speakers again change nothing"


async def test_moving_an_item_onto_another_in_its_room_is_a_409(dialogue: Api) -> None:
    event = await create_event(dialogue)
    await add_item(dialogue, event)  # 10:00-11:00 in Room A
    later = await add_item(
        dialogue,
        event,
        room="Room B",
        starts_at="2027-03-10T10:30:00+01:00",
        ends_at="2027-03-10T11:30:00+01:00",
    )
    url = f"{agenda(event)}/{later['id']}"

    moved = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"room": "Room A"}
    )
    shifted = await dialogue.patch(
        url,
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"starts_at": "2027-03-10T10:45:00+01:00"},
    )

    assert error_fields(assert_problem(moved, 409)) == {"starts_at", "room"}
    assert shifted.status_code == 200, "an item does not conflict with itself: " + shifted.text


async def test_patch_keeps_the_item_inside_the_event(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)

    response = await dialogue.patch(
        f"{agenda(event)}/{item['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"ends_at": "2027-03-12T10:00:00+01:00"},
    )

    assert error_fields(assert_problem(response, 422)) == {"ends_at"}


async def test_null_is_refused_for_fields_that_cannot_be_cleared(dialogue: Api) -> None:
    event = await create_event(dialogue)
    item = await add_item(dialogue, event)

    response = await dialogue.patch(
        f"{agenda(event)}/{item['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"title": None, "speakers": None},
    )

    assert error_fields(assert_problem(response, 422)) == {"title", "speakers"}


# Removing


async def test_an_item_is_removed_with_its_speakers(dialogue: Api, session: AsyncSession) -> None:
    event = await create_event(dialogue)
    speaker = await person(session, "Removed Speaker")
    item = await add_item(dialogue, event, speakers=[speaker])
    url = f"{agenda(event)}/{item['id']}"

    stale = await dialogue.delete(url, role=Api.ADMIN, headers={"If-Match": '"5"'})
    removed = await dialogue.delete(url, role=Api.EDITOR, cities=TUNIS, headers={"If-Match": '"1"'})

    assert_problem(stale, 412)
    assert removed.status_code == 204, removed.text
    assert_problem(await dialogue.get(url), 404)
    assert_problem(await dialogue.delete(url, role=Api.ADMIN), 404)
    # The person can now be removed: nothing refers to them any more.
    await session.delete(await session.get(Person, speaker))
    await session.flush()


# Concurrent writers


async def test_two_writers_cannot_both_book_a_room_for_the_same_time(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    async with own_database.sessionmaker() as setup, setup.begin():
        event = Event(
            type="webinar",
            title={"en": "Race"},
            starts_at=AgendaItemCreate.model_validate(new_item()).starts_at.replace(hour=0),
            ends_at=AgendaItemCreate.model_validate(new_item()).ends_at.replace(hour=23),
            timezone="Africa/Tunis",
        )
        setup.add(event)
        await setup.flush()
        event_id = event.id

    def booking(room: str) -> AgendaItemCreate:
        return AgendaItemCreate.model_validate(new_item(room=room))

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.create_item(first, admin, event_id, booking("Room A"))
        racing = asyncio.create_task(
            service.create_item(second, admin, event_id, booking("ROOM A"))
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the event's lock"
        await first.commit()
        with pytest.raises(Conflict):
            await racing


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:01+02:18", "9999-12-31T23:59:59-14:00"])
async def test_an_instant_outside_the_platform_range_is_a_422_naming_the_field(
    dialogue: Api, starts_at: str
) -> None:
    # Both were a 500: no time zone can show them in UTC or in the event's zone.
    event = await create_event(dialogue)

    response = await dialogue.post(
        agenda(event), json=new_item(starts_at=starts_at), role=Role.admin
    )

    assert error_fields(assert_problem(response, 422)) == {"starts_at"}
