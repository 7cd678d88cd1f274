from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.outcomes import service
from services.dialogue_api.outcomes.schemas import (
    OutcomeCreate,
    OutcomeKind,
    OutcomeRead,
    OutcomeUpdate,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/events/{event_id}/outcomes", tags=["outcomes"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]
OutcomeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    summary="List an event's outcomes",
    description="Minutes, reports, presentations and recordings of the event, by id.",
    response_model=Page[OutcomeRead],
    responses=problem_responses(404),
)
async def list_outcomes(
    event_id: EventId,
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    kind: Annotated[OutcomeKind | None, Query()] = None,
) -> Page[OutcomeRead]:
    outcomes = await service.list_outcomes(session, principal, event_id, page, kind=kind)
    return build_page(
        outcomes,
        page,
        key=lambda outcome: [outcome.id],
        item=lambda outcome: OutcomeRead.of(outcome, languages),
    )


@router.post(
    "",
    summary="Link a document to an event",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomeRead,
    responses=problem_responses(401, 403, 404),
)
async def create_outcome(
    event_id: EventId,
    payload: OutcomeCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> OutcomeRead:
    outcome = await service.create_outcome(session, principal, event_id, payload)
    response.headers["Location"] = f"/v1/events/{event_id}/outcomes/{outcome.id}"
    return represented(response, OutcomeRead.of(outcome, languages))


@router.get(
    "/{outcome_id}",
    summary="Get an outcome of an event",
    response_model=OutcomeRead,
    responses=problem_responses(404),
)
async def get_outcome(
    event_id: EventId,
    outcome_id: OutcomeId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> OutcomeRead:
    outcome = await service.get_outcome(session, principal, event_id, outcome_id)
    return represented(response, OutcomeRead.of(outcome, languages))


@router.patch(
    "/{outcome_id}",
    summary="Change an outcome of an event",
    response_model=OutcomeRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_outcome(
    event_id: EventId,
    outcome_id: OutcomeId,
    payload: OutcomeUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> OutcomeRead:
    outcome = await service.update_outcome(
        session, principal, event_id, outcome_id, payload, if_match=if_match
    )
    return represented(response, OutcomeRead.of(outcome, languages))


@router.delete(
    "/{outcome_id}",
    summary="Remove an outcome of an event",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_outcome(
    event_id: EventId,
    outcome_id: OutcomeId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_outcome(session, principal, event_id, outcome_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
