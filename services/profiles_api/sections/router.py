from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.profiles_api.cities.service import get_city
from services.profiles_api.sections import service
from services.profiles_api.sections.models import Section
from services.profiles_api.sections.repository import SectionRepository
from services.profiles_api.sections.schemas import (
    SectionCode,
    SectionRead,
    SectionStatus,
    SectionTransition,
    SectionView,
    SectionWrite,
)
from shared.auth import CurrentPrincipal, MaybePrincipal, Principal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.errors import NotFound, Unauthorized
from shared.i18n import Languages, LanguagesDep
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


def resolve_view(view: SectionView | None, principal: Principal | None) -> SectionView:
    if view is None:
        return SectionView.working if principal is not None else SectionView.published
    if view is SectionView.working and principal is None:
        raise Unauthorized("The working copy of a section needs a bearer token.")
    return view


def section_read(section: Section, view: SectionView, languages: Languages) -> SectionRead:
    """The section as ``view`` shows it: the published copy carries its own version and date,
    so a public reader learns nothing of a draft in progress."""
    if view is SectionView.published:
        titles = section.published_title or {}
        narratives = section.published_narrative or {}
        current_status = SectionStatus.published
        version = section.published_version or 0
        updated_at = section.published_at or section.updated_at
    else:
        titles, narratives = section.title, section.narrative
        current_status = SectionStatus(section.status)
        version, updated_at = section.version, section.updated_at
    narrative, language = languages.pick(narratives)
    return SectionRead(
        city=section.city_code,
        code=section.code,
        view=view,
        status=current_status,
        title=titles.get(language or "en") or languages.text(titles),
        narrative=narrative or "",
        language=language or "en",
        titles=titles,
        narratives=narratives,
        version=version,
        published_version=section.published_version,
        published_at=section.published_at,
        updated_at=updated_at,
    )


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
    await get_city(session, code)
    chosen = resolve_view(view, principal)
    sections = await SectionRepository.from_session(session).for_city(
        code, published_only=chosen is SectionView.published
    )
    # A profile has at most one section per code: one page always holds them all.
    return Page[SectionRead](
        items=[section_read(section, chosen, languages) for section in sections]
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
    chosen = resolve_view(view, principal)
    found = await service.get_section(session, code, section.value)
    if chosen is SectionView.published and found.published_version is None:
        raise NotFound(f"Section {section.value!r} of {code} is not published yet.")
    read = represented(response, section_read(found, chosen, languages))
    return read


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
    read = represented(response, section_read(written, SectionView.working, languages))
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
    read = represented(response, section_read(moved, SectionView.working, languages))
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
