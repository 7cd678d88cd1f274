from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.profiles_api.sources import service
from services.profiles_api.sources.schemas import (
    SourceCreate,
    SourceKind,
    SourceRead,
    SourceUpdate,
)
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/sources", tags=["sources"])
SourceId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", summary="List sources", response_model=Page[SourceRead])
async def list_sources(
    session: SessionDep,
    page: PageDep,
    kind: Annotated[SourceKind | None, Query()] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in the title or publisher.")
    ] = None,
) -> Page[SourceRead]:
    sources = await service.list_sources(session, page, kind=kind, q=q)
    return build_page(sources, page, key=lambda source: [source.id], item=SourceRead.of)


@router.post(
    "",
    summary="Add a source",
    status_code=status.HTTP_201_CREATED,
    response_model=SourceRead,
    responses=problem_responses(401, 403, 409),
)
async def create_source(
    payload: SourceCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> SourceRead:
    source = await service.create_source(session, principal, payload)
    response.headers["Location"] = f"{router.prefix}/{source.id}"
    return represented(response, SourceRead.of(source))


@router.get(
    "/{source_id}",
    summary="Get a source",
    response_model=SourceRead,
    responses=problem_responses(404),
)
async def get_source(source_id: SourceId, session: SessionDep, response: Response) -> SourceRead:
    source = await service.get_source(session, source_id)
    return represented(response, SourceRead.of(source))


@router.patch(
    "/{source_id}",
    summary="Change a source",
    response_model=SourceRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_source(
    source_id: SourceId,
    payload: SourceUpdate,
    session: SessionDep,
    principal: AdminPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
) -> SourceRead:
    source = await service.update_source(session, principal, source_id, payload, if_match=if_match)
    return represented(response, SourceRead.of(source))


@router.delete(
    "/{source_id}",
    summary="Remove a source no observation cites",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_source(
    source_id: SourceId,
    session: SessionDep,
    principal: AdminPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_source(session, principal, source_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
