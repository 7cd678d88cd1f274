from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.indicators.dependencies import ProfilesDep
from services.dialogue_api.recommendations import service
from services.dialogue_api.recommendations.schemas import (
    EvidenceCreate,
    EvidenceRead,
    GovernanceLevel,
    RecommendationCreate,
    RecommendationRead,
    RecommendationStatus,
    RecommendationUpdate,
    StatusChangeRead,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import CITY_CODE_PATTERN
from shared.contracts.indicators import INDICATOR_CODE_PATTERN
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import Languages, LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])
RecommendationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
EvidenceId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CityQuery = Annotated[str | None, Query(pattern=CITY_CODE_PATTERN)]


def _read(found: service.RecommendationWithEvidence, languages: Languages) -> RecommendationRead:
    return RecommendationRead.of(
        found.recommendation,
        found.evidence,
        languages,
        indicators=found.indicators,
        figures=found.figures,
        assessments=found.assessments,
    )


async def _one(
    session: SessionDep, profiles: ProfilesDep, recommendation_id: int, principal: MaybePrincipal
) -> service.RecommendationWithEvidence:
    recommendation = await service.get_recommendation(session, principal, recommendation_id)
    found = await service.with_evidence(session, [recommendation])
    return (await service.described(session, profiles, found))[0]


@router.get(
    "",
    summary="List recommendations",
    description="Recommendations by id, with their evidence. Anonymous callers see those of "
    "public events only. `indicator` and `evidence_city` keep recommendations with an evidence "
    "link of that indicator or city (both given: one link of that city's indicator).\n\n"
    "Each evidence link names its indicator (`indicator_names`, `indicator_unit`); a "
    "`measures` link also shows its city's figure at the recommendation's date (`baseline`) "
    "and the latest one (`latest`), read from profiles: when profiles cannot answer within "
    "`MC2CM_PROFILES_API_TIMEOUT_SECONDS` (2 s) they are null and `figures_note` says so.",
    response_model=Page[RecommendationRead],
)
async def list_recommendations(
    session: SessionDep,
    profiles: ProfilesDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    event: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="The event they come from.")
    ] = None,
    theme: Annotated[Theme | None, Query()] = None,
    city: Annotated[
        str | None, Query(pattern=CITY_CODE_PATTERN, description="A target city.")
    ] = None,
    status: Annotated[
        list[RecommendationStatus] | None, Query(description="One or more statuses.")
    ] = None,
    governance_level: Annotated[GovernanceLevel | None, Query()] = None,
    indicator: Annotated[
        str | None,
        Query(pattern=INDICATOR_CODE_PATTERN, description="An indicator used as evidence."),
    ] = None,
    evidence_city: Annotated[
        str | None,
        Query(pattern=CITY_CODE_PATTERN, description="A city whose indicator is evidence."),
    ] = None,
) -> Page[RecommendationRead]:
    found = await service.list_recommendations(
        session,
        principal,
        page,
        event_id=event,
        theme=theme.value if theme else None,
        city=city,
        statuses=[s.value for s in status or ()],
        governance_level=governance_level.value if governance_level else None,
        indicator=indicator,
        evidence_city=evidence_city,
    )
    # The page's items only (``found`` may hold one more, to tell there is a next page).
    shown = await service.described(session, profiles, found[: page.limit])
    found = shown + found[page.limit :]
    return build_page(
        found,
        page,
        key=lambda item: [item.recommendation.id],
        item=lambda item: _read(item, languages),
    )


@router.post(
    "",
    summary="Record a recommendation of an event",
    description="Created `proposed` (or `adopted`), with the first step of its status history "
    "and its evidence links. By administrators and editors of the event's host city. "
    "An evidence link's indicator must be in profiles' catalogue (422 naming "
    "`evidence.<n>.indicator` otherwise).",
    status_code=status.HTTP_201_CREATED,
    response_model=RecommendationRead,
    responses=problem_responses(401, 403, 409),
)
async def create_recommendation(
    payload: RecommendationCreate,
    session: SessionDep,
    profiles: ProfilesDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> RecommendationRead:
    created = await service.create_recommendation(session, principal, payload)
    (shown,) = await service.described(session, profiles, [created])
    response.headers["Location"] = f"/v1/recommendations/{created.recommendation.id}"
    return represented(response, _read(shown, languages))


@router.get(
    "/{recommendation_id}",
    summary="Get a recommendation",
    description="With its evidence: each link's indicator names and, for `measures` links, "
    "the city's figure at the recommendation's date (`baseline`) and the latest one "
    "(`latest`), read from profiles; null with a `figures_note` when profiles cannot answer "
    "in time. The ETag is the recommendation's version: it does not change with the figures.",
    response_model=RecommendationRead,
    responses=problem_responses(404),
)
async def get_recommendation(
    recommendation_id: RecommendationId,
    session: SessionDep,
    profiles: ProfilesDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> RecommendationRead:
    found = await _one(session, profiles, recommendation_id, principal)
    return represented(response, _read(found, languages))


@router.patch(
    "/{recommendation_id}",
    summary="Change a recommendation, its status included",
    description="Status moves proposed → adopted → in_progress → implemented; any but "
    "implemented may become dropped, and dropped may be reopened as proposed. Each change of "
    "status is added to the history with `status_note`.",
    response_model=RecommendationRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_recommendation(
    recommendation_id: RecommendationId,
    payload: RecommendationUpdate,
    session: SessionDep,
    profiles: ProfilesDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> RecommendationRead:
    await service.update_recommendation(
        session, principal, recommendation_id, payload, if_match=if_match
    )
    found = await _one(session, profiles, recommendation_id, principal)
    return represented(response, _read(found, languages))


@router.delete(
    "/{recommendation_id}",
    summary="Remove a recommendation that no action follows up",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_recommendation(
    recommendation_id: RecommendationId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_recommendation(session, principal, recommendation_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{recommendation_id}/history",
    summary="Get a recommendation's status history",
    description="Each change of status, oldest first; the first is its creation. "
    "`changed_by` is shown to token holders only.",
    response_model=Page[StatusChangeRead],
    responses=problem_responses(404),
)
async def list_recommendation_history(
    recommendation_id: RecommendationId,
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
) -> Page[StatusChangeRead]:
    changes = await service.status_history(session, principal, recommendation_id, page)
    return build_page(
        changes,
        page,
        key=lambda change: [change.id],
        item=lambda change: StatusChangeRead.of(change, show_author=principal is not None),
    )


@router.post(
    "/{recommendation_id}/evidence",
    summary="Link an indicator of a city to a recommendation as evidence",
    description="Raises the recommendation's version: its representation embeds its evidence. "
    "The indicator must be in profiles' catalogue (422 naming `indicator` otherwise).",
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def add_recommendation_evidence(
    recommendation_id: RecommendationId,
    payload: EvidenceCreate,
    session: SessionDep,
    profiles: ProfilesDep,
    principal: CurrentPrincipal,
) -> EvidenceRead:
    added = await service.add_evidence(session, principal, recommendation_id, payload)
    (shown,) = await service.described(session, profiles, [added])
    (link,) = shown.evidence
    return EvidenceRead.of(
        link, shown.indicators.get(link.indicator_code), shown.figures.get(link.id)
    )


@router.delete(
    "/{recommendation_id}/evidence/{evidence_id}",
    summary="Remove an evidence link of a recommendation",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def remove_recommendation_evidence(
    recommendation_id: RecommendationId,
    evidence_id: EvidenceId,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    await service.remove_evidence(session, principal, recommendation_id, evidence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
