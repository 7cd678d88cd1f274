from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.dialogue_api.calendars import service
from shared.auth import MaybePrincipal
from shared.contracts.cities import CITY_CODE_PATTERN
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.params import DateOrDateTimeQuery

router = APIRouter(prefix="/v1", tags=["calendars"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]

CALENDAR_MEDIA_TYPE = "text/calendar"
_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MC2CM//Dialogue API//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Africa/Tunis\r\n…\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:event-42@mc2cm\r\n"
    "DTSTART;TZID=Africa/Tunis:20270310T090000\r\n…\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class CalendarResponse(Response):
    """An iCalendar document (``text/calendar; charset=utf-8``)."""

    media_type = CALENDAR_MEDIA_TYPE


def _calendar_responses(description: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {CALENDAR_MEDIA_TYPE: {"schema": {"type": "string"}, "example": _EXAMPLE}},
        },
        **problem_responses(*statuses),
    }


def _utc(moment: datetime | None) -> datetime | None:
    """A time from the query string: UTC when it names no offset (or is a bare date)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _respond(calendar: service.CalendarFile) -> CalendarResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="{calendar.filename}"',
        # Returned as is, so the header the language dependency set must be repeated here.
        "Vary": "Accept-Language",
    }
    if calendar.language is not None:
        headers["Content-Language"] = calendar.language
    return CalendarResponse(calendar.content, headers=headers)


@router.get(
    "/events/{event_id}/calendar.ics",
    summary="Get an event as an iCalendar file",
    description="One `VEVENT` in the event's timezone (with its `VTIMEZONE`), titled in the "
    "caller's language; `UID` stays the same and `SEQUENCE` grows with each change, so "
    "importing it again updates the event.",
    response_class=CalendarResponse,
    responses=_calendar_responses("The event as an iCalendar file.", 404),
)
async def get_event_calendar(
    event_id: EventId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
) -> CalendarResponse:
    calendar = await service.event_calendar(
        session, principal, event_id, languages, now=datetime.now(UTC)
    )
    return _respond(calendar)


@router.get(
    "/calendar.ics",
    summary="Subscribe to events as an iCalendar feed",
    description="The events the caller may see (public ones without a token) that end after "
    "`from` (default: 90 days ago) and start before `to`, in order of start, at most "
    f"{service.FEED_LIMIT}: for later ones, move `from`. One `VTIMEZONE` for each timezone "
    "used.",
    response_class=CalendarResponse,
    responses=_calendar_responses("The events as an iCalendar feed."),
)
async def get_calendar_feed(
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    city: Annotated[
        str | None,
        Query(pattern=CITY_CODE_PATTERN, description="Host or participating city."),
    ] = None,
    theme: Annotated[Theme | None, Query()] = None,
    starts_from: Annotated[
        DateOrDateTimeQuery | None,
        Query(alias="from", description="A date or time; UTC unless it says."),
    ] = None,
    starts_before: Annotated[
        DateOrDateTimeQuery | None,
        Query(alias="to", description="A date or time; UTC unless it says."),
    ] = None,
) -> CalendarResponse:
    calendar = await service.feed_calendar(
        session,
        principal,
        languages,
        now=datetime.now(UTC),
        city=city,
        theme=theme.value if theme else None,
        starts_from=_utc(starts_from),
        starts_before=_utc(starts_before),
    )
    return _respond(calendar)
