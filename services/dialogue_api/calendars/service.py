"""Events as iCalendar (RFC 5545) files: one event, or a feed of the events a caller may see.

Times are written in the event's own timezone (``DTSTART;TZID=Africa/Tunis:…``) with the
matching ``VTIMEZONE``, so a calendar shows 09:00 in Tunis whatever the reader's zone, and
moves the event with any change to that zone's rules. Texts are in the caller's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from icalendar.enums import STATUS
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_unpublished
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.repository import EventFilters, EventRepository
from services.dialogue_api.events.schemas import EventStatus
from services.dialogue_api.events.service import get_event
from shared.auth import Principal
from shared.contracts.themes import THEMES, Theme
from shared.i18n import Languages
from shared.pagination import PageParams

PRODID = "-//MC2CM//Dialogue API//EN"
#: Most events a feed holds: the first ones from the start of its range, in order of start.
FEED_LIMIT = 1000
#: How far back a feed reaches when the caller names no start.
FEED_PAST = timedelta(days=90)
#: How often subscribers are asked to fetch the feed again (RFC 7986 REFRESH-INTERVAL).
FEED_REFRESH = timedelta(hours=6)

_STATUS = {
    EventStatus.planned: STATUS.TENTATIVE,
    EventStatus.confirmed: STATUS.CONFIRMED,
    EventStatus.held: STATUS.CONFIRMED,
    EventStatus.cancelled: STATUS.CANCELLED,
}


@dataclass(frozen=True)
class CalendarFile:
    """An iCalendar document and what its response says of it."""

    content: bytes
    filename: str
    language: str | None = None


def event_uid(event_id: int) -> str:
    """The ``UID`` of an event: the same in every file and feed, so calendars update it."""
    return f"event-{event_id}@mc2cm"


def _component(event: Event, languages: Languages, now: datetime) -> CalendarEvent:
    """The ``VEVENT`` of an event, in its timezone and the caller's language."""
    zone = ZoneInfo(event.timezone)
    description, _ = languages.pick(event.description)
    component = CalendarEvent.new(
        uid=event_uid(event.id),
        stamp=now,
        start=event.starts_at.astimezone(zone),
        end=event.ends_at.astimezone(zone),
        description=description,
        location=event.venue,
        url=event.online_url,
        status=_STATUS[EventStatus(event.status)],
        # Calendars apply a change only when the sequence grows: the version always does.
        sequence=event.version,
        categories=[languages.text(THEMES[Theme(t)].names) or t for t in event.themes],
        created=event.created_at,
        last_modified=event.updated_at,
    )
    summary, language = languages.pick(event.title)
    component.add("summary", summary or "", parameters={"LANGUAGE": language or "en"})
    return component


def _calendar(
    events: Sequence[Event],
    languages: Languages,
    now: datetime,
    *,
    uid: str,
    name: str,
    refresh: timedelta | None = None,
) -> Calendar:
    """A calendar of the events with one ``VTIMEZONE`` for each timezone they use."""
    calendar = Calendar.new(prodid=PRODID, uid=uid, name=name, refresh_interval=refresh)
    for event in events:
        calendar.add_component(_component(event, languages, now))
    if events:
        # The zones' rules are written for the years the events span only, not 1970-2038.
        first = min(event.starts_at for event in events).year
        last = max(event.ends_at for event in events).year
        calendar.add_missing_timezones(first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))
    return calendar


def single_event_calendar(event: Event, languages: Languages, *, now: datetime) -> Calendar:
    """The calendar of one event (the worker's e-mails attach it with their iTIP method)."""
    title, _ = languages.pick(event.title)
    return _calendar(
        [event], languages, now, uid=f"calendar-{event_uid(event.id)}", name=title or ""
    )


async def event_calendar(
    session: AsyncSession,
    principal: Principal | None,
    event_id: int,
    languages: Languages,
    *,
    now: datetime,
) -> CalendarFile:
    """The iCalendar file of one event the caller may see."""
    event = await get_event(session, principal, event_id)
    _, language = languages.pick(event.title)
    calendar = single_event_calendar(event, languages, now=now)
    return CalendarFile(calendar.to_ical(), f"event-{event.id}.ics", language)


async def feed_calendar(
    session: AsyncSession,
    principal: Principal | None,
    languages: Languages,
    *,
    now: datetime,
    city: str | None = None,
    theme: str | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> CalendarFile:
    """A feed of the events the caller may see that end after ``starts_from`` (90 days ago
    unless given): the first ``FEED_LIMIT`` in order of start."""
    filters = EventFilters(
        city=city,
        theme=theme,
        starts_from=starts_from if starts_from is not None else now - FEED_PAST,
        starts_before=starts_before,
        public_only=not sees_unpublished(principal),
    )
    events = await EventRepository.from_session(session).search(
        filters, PageParams(limit=FEED_LIMIT, cursor=None)
    )
    scope = "-".join(part for part in (city, theme) if part) or "all"
    calendar = _calendar(
        events[:FEED_LIMIT],
        languages,
        now,
        uid=f"calendar-events-{scope}@mc2cm",
        name=" · ".join(["MC2CM events", *(part for part in (city, theme) if part)]),
        refresh=FEED_REFRESH,
    )
    return CalendarFile(calendar.to_ical(), f"mc2cm-events-{scope}.ics")
