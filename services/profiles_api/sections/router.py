from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.profiles_api.sections import service
from services.profiles_api.sections.schemas import (
    SectionCode,
    SectionRead,
    SectionTransition,
    SectionView,
    SectionWrite,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities/{code}/sections", tags=["sections"])

ViewQuery = Annotated[
    SectionView | None,
    Query(
        description="`published` (what the public reads; the default without a token) or "
        "`working` (the copy being edited; the default with a token)."
    ),
]


@router.get(
    "",
    summary="List a city's profile sections",
    response_model=Page[SectionRead],
    responses=problem_responses(401, 404),
)
async def list_sections(
    code: CityCodePath,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    view: ViewQuery = None,
) -> Page[SectionRead]:
    chosen, sections = await service.list_sections(session, principal, code, view=view)
    # A profile has at most one section per code: one page always holds them all.
    return Page[SectionRead](
        items=[SectionRead.of(section, chosen, languages) for section in sections]
    )


@router.get(
    "/{section}",
    summary="Get a profile section",
    response_model=SectionRead,
    responses=problem_responses(401, 404),
)
async def get_section(
    code: CityCodePath,
    section: SectionCode,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
    view: ViewQuery = None,
) -> SectionRead:
    chosen, found = await service.read_section(session, principal, code, section.value, view=view)
    return represented(response, SectionRead.of(found, chosen, languages))


@router.put(
    "/{section}",
    summary="Write a profile section",
    description="Creates the section (201) or replaces its working text (200, `If-Match` "
    "required). Editing a published section starts a new draft; the published text stays "
    "public until the draft is published.",
    response_model=SectionRead,
    responses={
        201: {"description": "Created", "model": SectionRead},
        **problem_responses(401, 403, 404, 412, 428),
    },
)
async def write_section(
    code: CityCodePath,
    section: SectionCode,
    payload: SectionWrite,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> SectionRead:
    written, created = await service.write_section(
        session, principal, code, section.value, payload, if_match=if_match
    )
    read = represented(response, SectionRead.of(written, SectionView.working, languages))
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/cities/{code}/sections/{section.value}"
    return read


@router.post(
    "/{section}/status",
    summary="Move a section through review and publication",
    description="draft → in_review → published; in_review or published → draft. Publishing "
    "makes the working text the public one. `If-Match` required.",
    response_model=SectionRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def transition_section(
    code: CityCodePath,
    section: SectionCode,
    payload: SectionTransition,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> SectionRead:
    moved = await service.transition_section(
        session, principal, code, section.value, payload, if_match=if_match
    )
    read = represented(response, SectionRead.of(moved, SectionView.working, languages))
    return read


@router.delete(
    "/{section}",
    summary="Remove a profile section",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_section(
    code: CityCodePath,
    section: SectionCode,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_section(session, principal, code, section.value, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
