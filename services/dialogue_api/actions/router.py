from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.actions import service
from services.dialogue_api.actions.schemas import (
    ActionCreate,
    ActionRead,
    ActionStatus,
    ActionUpdate,
    ProgressUpdateCreate,
    ProgressUpdateRead,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import CITY_CODE_PATTERN
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import DateQuery

router = APIRouter(prefix="/v1", tags=["actions"])
ActionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RecommendationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "/actions",
    summary="List actions",
    description="Actions in order of due date. Anonymous callers see the actions of public "
    "events' recommendations only. An owner the caller may not see is shown as null.",
    response_model=Page[ActionRead],
)
async def list_actions(
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    city: Annotated[str | None, Query(pattern=CITY_CODE_PATTERN)] = None,
    owner: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="The owner's person id.")
    ] = None,
    status: Annotated[list[ActionStatus] | None, Query(description="One or more statuses.")] = None,
    recommendation: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    due_before: Annotated[
        DateQuery | None, Query(description="Due strictly before this day.")
    ] = None,
    due_after: Annotated[
        DateQuery | None, Query(description="Due strictly after this day.")
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(description="Due before today in the city's timezone and not done or cancelled."),
    ] = None,
) -> Page[ActionRead]:
    found = await service.list_actions(
        session,
        principal,
        page,
        city=city,
        owner_id=owner,
        statuses=[s.value for s in status or ()],
        recommendation_id=recommendation,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
    )
    return build_page(
        found,
        page,
        key=lambda seen: [seen.action.due_on, seen.action.id],
        item=lambda seen: ActionRead.of(seen, languages),
    )


@router.post(
    "/recommendations/{recommendation_id}/actions",
    summary="Record a city's action on a recommendation",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionRead,
    responses=problem_responses(401, 403, 404),
)
async def create_action(
    recommendation_id: RecommendationId,
    payload: ActionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> ActionRead:
    seen = await service.create_action(session, principal, recommendation_id, payload)
    response.headers["Location"] = f"/v1/actions/{seen.action.id}"
    return represented(response, ActionRead.of(seen, languages))


@router.get(
    "/actions/{action_id}",
    summary="Get an action",
    response_model=ActionRead,
    responses=problem_responses(404),
)
async def get_action(
    action_id: ActionId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> ActionRead:
    seen = await service.get_action(session, principal, action_id)
    return represented(response, ActionRead.of(seen, languages))


@router.patch(
    "/actions/{action_id}",
    summary="Change an action, its status included",
    response_model=ActionRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_action(
    action_id: ActionId,
    payload: ActionUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ActionRead:
    seen = await service.update_action(session, principal, action_id, payload, if_match=if_match)
    return represented(response, ActionRead.of(seen, languages))


@router.delete(
    "/actions/{action_id}",
    summary="Remove an action and its progress updates",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_action(
    action_id: ActionId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_action(session, principal, action_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/actions/{action_id}/updates",
    summary="List an action's progress updates",
    description="Oldest first. Who reported each update is shown to token holders only.",
    response_model=Page[ProgressUpdateRead],
    responses=problem_responses(404),
)
async def list_action_updates(
    action_id: ActionId,
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
) -> Page[ProgressUpdateRead]:
    updates = await service.list_updates(session, principal, action_id, page)
    return build_page(
        updates,
        page,
        key=lambda update: [update.id],
        item=lambda update: ProgressUpdateRead.of(
            update, languages, show_author=principal is not None
        ),
    )


@router.post(
    "/actions/{action_id}/updates",
    summary="Report progress on an action",
    description="A `status` different from the action's moves it (same rules as changing "
    "the action) and the update records the step.",
    status_code=status.HTTP_201_CREATED,
    response_model=ProgressUpdateRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def report_action_progress(
    action_id: ActionId,
    payload: ProgressUpdateCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
) -> ProgressUpdateRead:
    update = await service.report_progress(session, principal, action_id, payload)
    return ProgressUpdateRead.of(update, languages, show_author=True)
