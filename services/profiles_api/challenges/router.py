from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.profiles_api.challenges import service
from services.profiles_api.challenges.schemas import (
    ChallengeCreate,
    ChallengeRead,
    ChallengeUpdate,
    NeedType,
    Priority,
)
from shared.auth import CurrentPrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities/{code}/challenges", tags=["challenges"])
ChallengeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    summary="List a city's challenges",
    response_model=Page[ChallengeRead],
    responses=problem_responses(404),
)
async def list_challenges(
    code: CityCodePath,
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    theme: Annotated[Theme | None, Query()] = None,
    need_type: Annotated[NeedType | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
) -> Page[ChallengeRead]:
    challenges = await service.list_challenges(
        session, code, page, theme=theme, need_type=need_type, priority=priority
    )
    return build_page(
        challenges,
        page,
        key=lambda challenge: [challenge.id],
        item=lambda challenge: ChallengeRead.of(challenge, languages),
    )


@router.post(
    "",
    summary="Record a challenge of a city",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeRead,
    responses=problem_responses(401, 403, 404),
)
async def create_challenge(
    code: CityCodePath,
    payload: ChallengeCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> ChallengeRead:
    challenge = await service.create_challenge(session, principal, code, payload)
    response.headers["Location"] = f"/v1/cities/{code}/challenges/{challenge.id}"
    return represented(response, ChallengeRead.of(challenge, languages))


@router.get(
    "/{challenge_id}",
    summary="Get a challenge",
    response_model=ChallengeRead,
    responses=problem_responses(404),
)
async def get_challenge(
    code: CityCodePath,
    challenge_id: ChallengeId,
    session: SessionDep,
    languages: LanguagesDep,
    response: Response,
) -> ChallengeRead:
    challenge = await service.get_challenge(session, code, challenge_id)
    return represented(response, ChallengeRead.of(challenge, languages))


@router.patch(
    "/{challenge_id}",
    summary="Change a challenge",
    response_model=ChallengeRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_challenge(
    code: CityCodePath,
    challenge_id: ChallengeId,
    payload: ChallengeUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ChallengeRead:
    challenge = await service.update_challenge(
        session, principal, code, challenge_id, payload, if_match=if_match
    )
    return represented(response, ChallengeRead.of(challenge, languages))


@router.delete(
    "/{challenge_id}",
    summary="Remove a challenge",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_challenge(
    code: CityCodePath,
    challenge_id: ChallengeId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_challenge(session, principal, code, challenge_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
