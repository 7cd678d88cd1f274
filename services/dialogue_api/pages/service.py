"""What the dialogue's events calendar page shows: the events the caller may see (public
ones without a token, as ``GET /v1/events``), by month in each event's own timezone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.cities.service import list_cities
from services.dialogue_api.events import service as events_service
from services.dialogue_api.events.models import Event
from shared.auth import Principal
from shared.pagination import PageParams

#: How far back the page shows events held (as the iCalendar feed), and at most how many.
RECENT = timedelta(days=90)
MAX_EVENTS = 500
MAX_CITIES = 500


@dataclass(frozen=True)
class ShownEvent:
    """An event with its start and end in its own timezone."""

    event: Event
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class Month:
    """The events starting in one month (the first day names it)."""

    first_day: date
    events: list[ShownEvent] = field(default_factory=list)


@dataclass(frozen=True)
class EventsCalendar:
    upcoming: list[Month]
    recent: list[Month]
    #: Names of the cities the dialogue knows, by code.
    city_names: dict[str, dict[str, str]]
    #: Whether more events than the page shows are there (the JSON and feed have them).
    more: bool


def _shown(event: Event) -> ShownEvent:
    try:
        zone = ZoneInfo(event.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return ShownEvent(event, event.starts_at.astimezone(zone), event.ends_at.astimezone(zone))


def _by_month(events: Iterable[ShownEvent]) -> list[Month]:
    months: list[Month] = []
    for shown in events:
        first_day = shown.starts.date().replace(day=1)
        if not months or months[-1].first_day != first_day:
            months.append(Month(first_day))
        months[-1].events.append(shown)
    return months


async def events_calendar(
    session: AsyncSession, principal: Principal | None, *, now: datetime
) -> EventsCalendar:
    """The events not yet over, soonest first, and those held in the last ``RECENT``, latest
    first, each list by month."""
    found = await events_service.list_events(
        session, principal, PageParams(limit=MAX_EVENTS, cursor=None), starts_from=now - RECENT
    )
    shown = [_shown(item.event) for item in found]
    cities = await list_cities(session, PageParams(limit=MAX_CITIES, cursor=None))
    return EventsCalendar(
        upcoming=_by_month(item for item in shown if item.event.ends_at >= now),
        recent=_by_month(reversed([item for item in shown if item.event.ends_at < now])),
        city_names={city.code: city.names for city in cities},
        more=len(found) >= MAX_EVENTS,
    )
