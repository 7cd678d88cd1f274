"""Events as iCalendar files and feeds: local times with their VTIMEZONE, language, status,
visibility and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from tests.dialogue.factories import create_event
from tests.factories import Api, assert_problem, error_fields


def parsed(response: httpx.Response) -> Calendar:
    """The calendar of a successful iCalendar response."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def vevent(calendar: Calendar, event_id: int) -> CalendarEvent:
    found = [e for e in calendar.events if str(e["UID"]) == f"event-{event_id}@mc2cm"]
    assert len(found) == 1, [str(e["UID"]) for e in calendar.events]
    return found[0]


async def feed_uids(dialogue: Api, query: str = "", **kwargs: Any) -> set[str]:
    calendar = parsed(await dialogue.get(f"/v1/calendar.ics{query}", **kwargs))
    return {str(event["UID"]) for event in calendar.events}


def uid(event: dict[str, Any]) -> str:
    return f"event-{event['id']}@mc2cm"


# One event


async def test_event_file_gives_local_times_in_the_events_timezone_with_its_vtimezone(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)  # 09:00 in Tunis, 10 March 2027

    response = await dialogue.get(f"/v1/events/{event['id']}/calendar.ics")

    calendar = parsed(response)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="event-{event["id"]}.ics"'
    )
    assert str(calendar["VERSION"]) == "2.0"
    assert "MC2CM" in str(calendar["PRODID"])
    component = vevent(calendar, event["id"])
    start = component.start
    assert isinstance(start, datetime), start
    assert str(start.tzinfo) == "Africa/Tunis", start
    assert (start.hour, start.minute) == (9, 0), start
    assert start == datetime(2027, 3, 10, 8, 0, tzinfo=UTC), start
    assert component.end == datetime(2027, 3, 11, 16, 0, tzinfo=UTC), component.end
    assert component["DTSTART"].params["TZID"] == "Africa/Tunis"
    assert [tz.tz_name for tz in calendar.timezones] == ["Africa/Tunis"]


async def test_event_file_describes_the_event(dialogue: Api) -> None:
    event = await create_event(dialogue, description={"en": "Focal points meet."})

    component = vevent(
        parsed(await dialogue.get(f"/v1/events/{event['id']}/calendar.ics")), event["id"]
    )

    assert str(component["SUMMARY"]) == "Technical meeting of focal points"
    assert str(component["DESCRIPTION"]) == "Focal points meet."
    assert str(component["LOCATION"]) == "Hôtel de Ville, Tunis"
    assert str(component["STATUS"]) == "TENTATIVE", "a planned event is tentative"
    assert component["SEQUENCE"] == 1
    assert [str(c) for c in component.categories] == ["Housing", "Health"]
    assert "DTSTAMP" in component and "LAST-MODIFIED" in component


async def test_summary_follows_accept_language(dialogue: Api) -> None:
    event = await create_event(dialogue)
    url = f"/v1/events/{event['id']}/calendar.ics"

    french = await dialogue.get(url, headers={"Accept-Language": "fr"})
    arabic = await dialogue.get(url, headers={"Accept-Language": "ar"})

    summary = vevent(parsed(french), event["id"])["SUMMARY"]
    assert (str(summary), summary.params["LANGUAGE"]) == ("Réunion technique", "fr")
    assert french.headers["content-language"] == "fr"
    assert "Accept-Language" in french.headers["vary"]
    categories = [str(c) for c in vevent(parsed(french), event["id"]).categories]
    assert categories == ["Logement", "Santé"], categories
    fallback = str(vevent(parsed(arabic), event["id"])["SUMMARY"])
    assert fallback == "Technical meeting of focal points", fallback


async def test_confirmed_online_event_is_confirmed_with_its_url(dialogue: Api) -> None:
    event = await create_event(
        dialogue, status="confirmed", venue=None, online_url="https://meet.example.org/x"
    )

    component = vevent(
        parsed(await dialogue.get(f"/v1/events/{event['id']}/calendar.ics")), event["id"]
    )

    assert str(component["STATUS"]) == "CONFIRMED"
    assert str(component["URL"]) == "https://meet.example.org/x"
    assert "LOCATION" not in component


async def test_cancelled_event_says_cancelled_with_a_higher_sequence(dialogue: Api) -> None:
    event = await create_event(dialogue)
    cancelled = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "cancelled"},
    )
    assert cancelled.status_code == 200, cancelled.text

    component = vevent(
        parsed(await dialogue.get(f"/v1/events/{event['id']}/calendar.ics")), event["id"]
    )

    assert str(component["STATUS"]) == "CANCELLED"
    assert component["SEQUENCE"] == 2


async def test_private_event_file_is_404_for_anonymous_callers_only(dialogue: Api) -> None:
    event = await create_event(dialogue, public=False)
    url = f"/v1/events/{event['id']}/calendar.ics"

    assert_problem(await dialogue.get(url), 404)
    vevent(parsed(await dialogue.get(url, role=Api.VIEWER)), event["id"])


async def test_unknown_event_file_is_404(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/events/999999999/calendar.ics"), 404)


# The feed


async def test_feed_hides_private_events_from_anonymous_callers(dialogue: Api) -> None:
    public = await create_event(dialogue)
    private = await create_event(dialogue, public=False)

    anonymous = await feed_uids(dialogue)
    viewer = await feed_uids(dialogue, role=Api.VIEWER)

    assert uid(public) in anonymous and uid(private) not in anonymous, anonymous
    assert {uid(public), uid(private)} <= viewer, viewer


async def test_feed_filters_by_host_or_participating_city(dialogue: Api) -> None:
    hosted = await create_event(dialogue, host_city="JOAMM", participating_cities=[])
    joined = await create_event(dialogue, participating_cities=["JOAMM"])
    other = await create_event(dialogue, participating_cities=["PTLIS"])

    found = await feed_uids(dialogue, "?city=JOAMM")

    assert {uid(hosted), uid(joined)} <= found, found
    assert uid(other) not in found, found


async def test_feed_filters_by_theme(dialogue: Api) -> None:
    education = await create_event(dialogue, themes=["education"])
    housing = await create_event(dialogue, themes=["housing"])

    found = await feed_uids(dialogue, "?theme=education")

    assert uid(education) in found and uid(housing) not in found, found


async def test_feed_has_one_vtimezone_for_each_timezone_used(dialogue: Api) -> None:
    await create_event(dialogue, themes=["co_development"])
    await create_event(
        dialogue,
        themes=["co_development"],
        starts_at="2027-04-01T09:00:00+01:00",
        ends_at="2027-04-01T17:00:00+01:00",
    )
    lisbon = await create_event(
        dialogue,
        themes=["co_development"],
        host_city="PTLIS",
        timezone="Europe/Lisbon",
        starts_at="2027-07-01T09:00:00+01:00",
        ends_at="2027-07-01T17:00:00+01:00",
    )

    calendar = parsed(await dialogue.get("/v1/calendar.ics?theme=co_development&from=2027-01-01"))

    zones = [tz.tz_name for tz in calendar.timezones]
    assert len(zones) == len(set(zones)), zones
    assert {"Africa/Tunis", "Europe/Lisbon"} <= set(zones), zones
    used = {tz for event in calendar.events if (tz := event["DTSTART"].params.get("TZID"))}
    assert used == set(zones), (used, zones)
    start = vevent(calendar, lisbon["id"]).start
    assert isinstance(start, datetime), start
    assert (str(start.tzinfo), start.hour) == ("Europe/Lisbon", 9), start


async def test_feed_reaches_back_ninety_days_unless_told_otherwise(dialogue: Api) -> None:
    now = datetime.now(UTC)
    recent = await create_event(
        dialogue,
        starts_at=(now - timedelta(days=60)).isoformat(),
        ends_at=(now - timedelta(days=59)).isoformat(),
    )
    old = await create_event(
        dialogue,
        starts_at=(now - timedelta(days=200)).isoformat(),
        ends_at=(now - timedelta(days=199)).isoformat(),
    )

    default = await feed_uids(dialogue)
    earlier = (now - timedelta(days=365)).date().isoformat()
    reaching_back = await feed_uids(dialogue, f"?from={earlier}")

    assert uid(recent) in default and uid(old) not in default, default
    assert uid(old) in reaching_back, reaching_back


async def test_feed_is_an_attachment_that_varies_by_language(dialogue: Api) -> None:
    response = await dialogue.get("/v1/calendar.ics")

    parsed(response)
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert "Accept-Language" in response.headers["vary"]


async def test_unknown_theme_or_malformed_city_is_a_problem_naming_the_parameter(
    dialogue: Api,
) -> None:
    theme = await dialogue.get("/v1/calendar.ics?theme=astrology")
    city = await dialogue.get("/v1/calendar.ics?city=lisbon")

    assert error_fields(assert_problem(theme, 422)) == {"theme"}
    assert error_fields(assert_problem(city, 422)) == {"city"}


async def test_openapi_documents_the_calendar_media_type(dialogue: Api) -> None:
    document = (await dialogue.get("/openapi.json")).json()

    for path in ("/v1/events/{event_id}/calendar.ics", "/v1/calendar.ics"):
        ok = document["paths"][path]["get"]["responses"]["200"]
        assert list(ok["content"]) == ["text/calendar"], ok
