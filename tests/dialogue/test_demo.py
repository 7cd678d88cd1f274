"""The dialogue's demo story, as `make dev` and the tests load it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.demo.seed import load_story, seed
from tests.factories import Api


async def test_seeding_again_adds_nothing(session: AsyncSession) -> None:
    result = await seed(session)

    assert (
        result.events_created,
        result.people_created,
        result.registrations_created,
        result.recommendations_created,
        result.actions_created,
    ) == (0, 0, 0, 0, 0), result


async def test_the_vienna_expert_meeting_of_18_november_2015_covers_every_theme(
    dialogue: Api,
) -> None:
    response = await dialogue.get(
        "/v1/events?type=expert_meeting&from=2015-11-18&to=2015-11-19&city=ATVIE"
    )
    events = response.json()["items"]

    assert len(events) == 1, events
    vienna = events[0]
    assert vienna["local_starts_at"].startswith("2015-11-18T09:00:00+01:00"), vienna
    assert vienna["status"] == "held"
    assert len(vienna["themes"]) >= 7, vienna["themes"]


async def test_missions_are_held_in_five_cities_and_planned_in_three(dialogue: Api) -> None:
    response = await dialogue.get("/v1/events?type=reconnaissance_mission&limit=50")
    missions = {event["host_city"]: event["status"] for event in response.json()["items"]}

    held = {city for city, status in missions.items() if status == "held"}
    planned = {city for city, status in missions.items() if status == "planned"}
    assert {"MATNG", "TNTUN", "LBBEY", "JOAMM", "ITTRN"} <= held, missions
    assert {"PTLIS", "ESMAD", "FRLYS"} <= planned, missions


def test_the_story_names_only_people_and_events_it_defines() -> None:
    story = load_story()
    people = {person["key"] for person in story["people"]}
    events = {event["key"] for event in story["events"]}

    for registration in story["registrations"]:
        assert registration["person"] in people and registration["event"] in events, registration
    assert all(person["email"].endswith("@example.org") for person in story["people"])


async def test_viennas_calendar_from_november_2015_holds_the_expert_meeting(
    dialogue: Api,
) -> None:
    response = await dialogue.get("/v1/calendar.ics?city=ATVIE&from=2015-11-01")

    assert response.status_code == 200, response.text
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(event["SUMMARY"]) for event in events] == [
        "Expert meeting: migration in Mediterranean cities"
    ], response.text
    assert events[0].decoded("DTSTART") == datetime(
        2015, 11, 18, 9, tzinfo=ZoneInfo("Europe/Vienna")
    ), response.text
    assert events[0]["DTSTART"].params["TZID"] == "Europe/Vienna", response.text
