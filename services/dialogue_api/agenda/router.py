from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.agenda import service
from services.dialogue_api.agenda.schemas import (
    AgendaItemCreate,
    AgendaItemRead,
    AgendaItemUpdate,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/events/{event_id}/agenda", tags=["agenda"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    summary="List an event's programme",
    description="Items in order of start. Speakers the caller may not see are left out.",
    response_model=Page[AgendaItemRead],
    responses=problem_responses(404),
)
async def list_agenda_items(
    event_id: EventId,
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    room: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Whatever its case.")
    ] = None,
    theme: Annotated[Theme | None, Query()] = None,
) -> Page[AgendaItemRead]:
    entries = await service.list_items(
        session,
        principal,
        event_id,
        page,
        room=room,
        theme=theme.value if theme else None,
    )
    return build_page(
        entries,
        page,
        key=lambda entry: [entry.item.starts_at, entry.item.id],
        item=lambda entry: AgendaItemRead.of(entry, languages),
    )


@router.post(
    "",
    summary="Add an item to an event's programme",
    description="The item must lie inside the event and, if it has a room, not overlap "
    "another item in that room (409 names the item in the way).",
    status_code=status.HTTP_201_CREATED,
    response_model=AgendaItemRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def create_agenda_item(
    event_id: EventId,
    payload: AgendaItemCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> AgendaItemRead:
    entry = await service.create_item(session, principal, event_id, payload)
    response.headers["Location"] = f"/v1/events/{event_id}/agenda/{entry.item.id}"
    return represented(response, AgendaItemRead.of(entry, languages))


@router.get(
    "/{item_id}",
    summary="Get an item of an event's programme",
    response_model=AgendaItemRead,
    responses=problem_responses(404),
)
async def get_agenda_item(
    event_id: EventId,
    item_id: ItemId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> AgendaItemRead:
    entry = await service.get_item(session, principal, event_id, item_id)
    return represented(response, AgendaItemRead.of(entry, languages))


@router.patch(
    "/{item_id}",
    summary="Change an item of an event's programme",
    response_model=AgendaItemRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_agenda_item(
    event_id: EventId,
    item_id: ItemId,
    payload: AgendaItemUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> AgendaItemRead:
    entry = await service.update_item(
        session, principal, event_id, item_id, payload, if_match=if_match
    )
    return represented(response, AgendaItemRead.of(entry, languages))


@router.delete(
    "/{item_id}",
    summary="Remove an item from an event's programme",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_agenda_item(
    event_id: EventId,
    item_id: ItemId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_item(session, principal, event_id, item_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
