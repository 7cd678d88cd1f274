from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.events import service
from services.dialogue_api.events.schemas import (
    EventCreate,
    EventRead,
    EventStatus,
    EventType,
    EventUpdate,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import Languages, LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import DateOrDateTimeQuery

router = APIRouter(prefix="/v1/events", tags=["events"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _utc(moment: datetime | None) -> datetime | None:
    """A time from the query string: UTC when it names no offset (or is a bare date)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _read(found: service.EventWithPlaces, languages: Languages) -> EventRead:
    return EventRead.of(
        found.event,
        languages,
        taken=found.taken,
        waitlisted=found.waitlisted,
        now=datetime.now(UTC),
    )


async def _one(
    session: SessionDep, event_id: int, principal: MaybePrincipal
) -> service.EventWithPlaces:
    event = await service.get_event(session, principal, event_id)
    return (await service.with_places(session, [event]))[0]


@router.get(
    "",
    summary="List events",
    description="Events in order of start. Anonymous callers see public events only. "
    "`from`/`to` keep the events that overlap that range.",
    response_model=Page[EventRead],
)
async def list_events(
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    type: Annotated[list[EventType] | None, Query(description="One or more types.")] = None,
    city: Annotated[
        str | None,
        Query(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", description="Host or participating city."),
    ] = None,
    theme: Annotated[Theme | None, Query()] = None,
    status: Annotated[list[EventStatus] | None, Query(description="One or more statuses.")] = None,
    starts_from: Annotated[
        DateOrDateTimeQuery | None,
        Query(alias="from", description="A date or time; UTC unless it says."),
    ] = None,
    starts_before: Annotated[
        DateOrDateTimeQuery | None,
        Query(alias="to", description="A date or time; UTC unless it says."),
    ] = None,
) -> Page[EventRead]:
    found = await service.list_events(
        session,
        principal,
        page,
        types=[t.value for t in type or ()],
        city=city,
        theme=theme.value if theme else None,
        statuses=[s.value for s in status or ()],
        starts_from=_utc(starts_from),
        starts_before=_utc(starts_before),
    )
    return build_page(
        found,
        page,
        key=lambda item: [item.event.starts_at, item.event.id],
        item=lambda item: _read(item, languages),
    )


@router.post(
    "",
    summary="Create an event",
    status_code=status.HTTP_201_CREATED,
    response_model=EventRead,
    responses=problem_responses(401, 403),
)
async def create_event(
    payload: EventCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> EventRead:
    event = await service.create_event(session, principal, payload)
    response.headers["Location"] = f"/v1/events/{event.id}"
    return represented(response, _read(service.EventWithPlaces(event, 0, 0), languages))


@router.get(
    "/{event_id}",
    summary="Get an event",
    response_model=EventRead,
    responses=problem_responses(404),
)
async def get_event(
    event_id: EventId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> EventRead:
    return represented(response, _read(await _one(session, event_id, principal), languages))


@router.patch(
    "/{event_id}",
    summary="Change an event, its status included",
    response_model=EventRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_event(
    event_id: EventId,
    payload: EventUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EventRead:
    await service.update_event(session, principal, event_id, payload, if_match=if_match)
    return represented(response, _read(await _one(session, event_id, principal), languages))


@router.delete(
    "/{event_id}",
    summary="Remove an event that has no registrations or recommendations",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_event(
    event_id: EventId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_event(session, principal, event_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
