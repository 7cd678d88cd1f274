from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response, status

from services.profiles_api.editions import service
from services.profiles_api.editions.schemas import (
    EditionIdPath,
    EditionRead,
    EditionSummary,
    WithdrawalCreate,
)
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(tags=["editions"])

#: An edition's reads after its withdrawal.
GONE: dict[int | str, dict[str, Any]] = {
    410: {"description": "Withdrawn: the problem names the reason and the successor, if any"}
}


def _etag(content_hash: str) -> str:
    return f'"{content_hash}"'


@router.post(
    "/v1/cities/{code}/editions",
    summary="Publish an edition of a city's profile",
    description="Freezes the profile as the public reads it now: the city, its published "
    "sections in every language, the preferred value of every indicator, period, scope and "
    "breakdown with its source, status and note (small counts suppressed), challenges, "
    "comparability notes, coverage per theme and the network aggregates it compares with. "
    "Stored once as RFC 8785 canonical JSON with its SHA-256; never changed afterwards.",
    status_code=status.HTTP_201_CREATED,
    response_model=EditionSummary,
    responses=problem_responses(401, 403, 404),
)
async def create_edition(
    code: CityCodePath,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> EditionSummary:
    threshold: int = request.app.state.settings.suppression_threshold
    edition = await service.publish_edition(
        session, principal, code, suppression_threshold=threshold
    )
    response.headers["Location"] = f"/v1/editions/{edition.id}"
    response.headers["ETag"] = _etag(edition.content_hash)
    return EditionSummary.of(edition)


@router.get(
    "/v1/cities/{code}/editions",
    summary="List a city's editions",
    description="Newest first; withdrawn editions are listed with their reason (tombstones).",
    response_model=Page[EditionSummary],
    responses=problem_responses(404),
)
async def list_editions(
    code: CityCodePath, session: SessionDep, page: PageDep
) -> Page[EditionSummary]:
    editions = await service.list_editions(session, code, page)
    return build_page(
        editions,
        page,
        key=lambda edition: [edition.year, edition.number],
        item=EditionSummary.of,
    )


@router.get(
    "/v1/editions/{edition_id}",
    summary="Get an edition",
    description="Its metadata and `snapshot`, whose bytes are the stored canonical JSON "
    "(`sha256(snapshot) == content_hash`); the ETag is the content hash.",
    response_model=EditionRead,
    responses={**problem_responses(404), **GONE},
)
async def get_edition(edition_id: EditionIdPath, session: SessionDep) -> Response:
    edition = await service.get_edition(session, edition_id)
    summary = EditionSummary.of(edition).model_dump(mode="json")
    body = orjson.dumps({**summary, "snapshot": orjson.Fragment(edition.content)})
    return Response(
        body,
        media_type="application/json",
        headers={"ETag": _etag(edition.content_hash)},
    )


@router.post(
    "/v1/editions/{edition_id}/withdrawal",
    summary="Withdraw an edition",
    description="Administrators only, with a reason and optionally the edition replacing it. "
    "The edition stays as a tombstone: its reads answer 410 naming the reason and successor.",
    response_model=EditionSummary,
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw_edition(
    edition_id: EditionIdPath,
    payload: WithdrawalCreate,
    session: SessionDep,
    principal: AdminPrincipal,
) -> EditionSummary:
    edition = await service.withdraw_edition(session, edition_id, payload)
    summary = EditionSummary.of(edition)
    summary.successor = await service.successor_of(session, edition)
    return summary
