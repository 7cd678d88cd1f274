"""The dialogue's public page: the events calendar in en, fr and ar, upcoming and recent
events by month, with the JSON and the iCalendar feed it stands beside."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from markupsafe import escape

from tests.dialogue.factories import create_event
from tests.factories import Api, assert_problem, error_fields

LANGUAGES = [("en", "ltr"), ("fr", "ltr"), ("ar", "rtl")]
HOSTILE = "<script>alert('x')</script> Forum"
TUNIS = ZoneInfo("Africa/Tunis")


async def events_page(dialogue: Api, url: str = "/events", **kwargs: Any) -> str:
    response = await dialogue.get(url, **kwargs)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:500]}"
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert "accept-language" in response.headers["vary"].lower()
    return response.text


def section(text: str, heading: str) -> str:
    """The HTML of the page's section whose id is ``heading``."""
    start = text.index(f'aria-labelledby="{heading}-heading"')
    end = text.find("\n</section>\n<section aria-labelledby=", start + 1)
    return text[start : end if end != -1 else None]


def at(days: int, hour: int = 9) -> datetime:
    """``days`` from today at ``hour`` in Tunis."""
    day = datetime.now(UTC).astimezone(TUNIS).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=TUNIS)


async def a_calendar(dialogue: Api) -> dict[str, dict[str, Any]]:
    """An event in 40 days, one held 10 days ago, one held 200 days ago and a private one."""
    made = {}
    for name, days, extra in (
        ("coming", 40, {}),
        ("recent", -10, {}),
        ("old", -200, {}),
        ("private", 41, {"public": False}),
    ):
        made[name] = await create_event(
            dialogue,
            title={"en": f"Pages test {name} meeting", "fr": f"Réunion {name} (test des pages)"},
            starts_at=at(days).isoformat(),
            ends_at=at(days + 1, 17).isoformat(),
            **extra,
        )
    return made


@pytest.mark.parametrize(("language", "direction"), LANGUAGES)
async def test_the_calendar_shows_upcoming_and_recent_events_by_month(
    dialogue: Api, language: str, direction: str
) -> None:
    made = await a_calendar(dialogue)
    response = await dialogue.get(f"/events?lang={language}")
    assert response.headers["content-language"] == language
    text = await events_page(dialogue, f"/events?lang={language}")
    assert f'<html lang="{language}" dir="{direction}">' in text
    assert len(re.findall(r"<h1[\s>]", text)) == 1
    upcoming, recent = section(text, "upcoming"), section(text, "recent")
    assert f'id="event-{made["coming"]["id"]}"' in upcoming
    assert f'id="event-{made["recent"]["id"]}"' in recent
    assert f'id="event-{made["old"]["id"]}"' not in text, "older than 90 days"
    assert f'id="event-{made["private"]["id"]}"' not in text, "not public"
    month = format_date(at(40).date(), format="LLLL y", locale=language)
    assert f">{month}</h3>" in upcoming, month
    day = format_date(at(40).date(), format="long", locale=language)
    assert day in upcoming, day
    names = {"en": "Pages test coming meeting", "fr": "Réunion coming (test des pages)"}
    title = names.get(language, names["en"])
    assert str(escape(title)) in upcoming
    assert 'href="/cities/TNTUN?lang=' in upcoming, "the host city's page"
    assert str(escape("Hôtel de Ville, Tunis")) in upcoming


async def test_the_calendar_links_to_its_json_and_icalendar_feed(dialogue: Api) -> None:
    made = await a_calendar(dialogue)
    text = await events_page(dialogue, "/events?lang=en")
    json_links = re.findall(r'<link rel="alternate" type="application/json" href="([^"]+)"', text)
    assert len(json_links) == 1 and json_links[0].startswith("/v1/events?from="), json_links
    assert text.count(f'href="{json_links[0]}"') == 2, "and visibly"
    assert 'href="/v1/calendar.ics"' in text
    event = made["coming"]["id"]
    assert f'href="/v1/events/{event}"' in text
    assert f'href="/v1/events/{event}/calendar.ics"' in text
    for href in (json_links[0], f"/v1/events/{event}/calendar.ics", "/v1/calendar.ics"):
        assert (await dialogue.get(href)).status_code == 200, href
    for page in ("/?lang=en", "/compare?lang=en"):
        assert f'href="{page}"' in text, page


async def test_the_language_is_the_query_s_then_accept_language_s(dialogue: Api) -> None:
    by_header = await events_page(dialogue, headers={"Accept-Language": "fr-FR, ar;q=0.4"})
    assert '<html lang="fr" dir="ltr">' in by_header
    by_query = await events_page(dialogue, "/events?lang=ar", headers={"Accept-Language": "fr"})
    assert '<html lang="ar" dir="rtl">' in by_query
    switch = re.findall(r'<a href="(/events\?lang=\w+)" lang="(\w+)"', by_query)
    assert switch == [(f"/events?lang={tag}", tag) for tag in ("en", "fr", "ar")], switch
    problem = assert_problem(await dialogue.get("/events?lang=<fr>"), 422)
    assert error_fields(problem) == {"lang"}, problem


async def test_hostile_event_texts_are_escaped(dialogue: Api) -> None:
    await create_event(
        dialogue,
        title={"en": HOSTILE},
        venue="<img src=x onerror=alert(1)>",
        starts_at=at(5).isoformat(),
        ends_at=at(5, 17).isoformat(),
    )
    text = await events_page(dialogue)
    assert "<script>" not in text and "<img" not in text
    assert str(escape(HOSTILE)) in text


async def test_a_token_sent_is_checked_and_shows_what_it_may_see(dialogue: Api) -> None:
    made = await a_calendar(dialogue)
    assert_problem(await dialogue.get("/events", headers={"Authorization": "Bearer forged"}), 401)
    text = await events_page(dialogue, role=Api.VIEWER)
    assert f'id="event-{made["private"]["id"]}"' in text, "a token sees unpublished events"
