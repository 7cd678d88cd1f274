"""Narrative chapters of a city's profile and their editorial workflow.

A section has a working copy that editors change (draft → in review → published) and, once
published, a published copy that the public reads. Editing a published section starts a
new draft; the published copy stays online until the next publication.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.service import get_city
from services.profiles_api.sections.models import Section
from services.profiles_api.sections.repository import SectionRepository
from services.profiles_api.sections.schemas import (
    TRANSITIONS,
    SectionStatus,
    SectionTransition,
    SectionView,
    SectionWrite,
)
from shared.auth import Principal, ensure_city_editor
from shared.concurrency import check_if_match
from shared.errors import Conflict, NotFound, PreconditionFailed, Unauthorized


def resolve_view(view: SectionView | None, principal: Principal | None) -> SectionView:
    """The copy a reader gets: published without a token, working with one unless asked."""
    if view is None:
        return SectionView.working if principal is not None else SectionView.published
    if view is SectionView.working and principal is None:
        raise Unauthorized("The working copy of a section needs a bearer token.")
    return view


async def list_sections(
    session: AsyncSession,
    principal: Principal | None,
    city_code: str,
    *,
    view: SectionView | None,
) -> tuple[SectionView, Sequence[Section]]:
    """A city's sections in the view the reader gets, and that view; 404 without the city."""
    await get_city(session, city_code)  # an unknown city is a 404 whatever view is asked
    chosen = resolve_view(view, principal)
    sections = await SectionRepository.from_session(session).for_city(
        city_code, published_only=chosen is SectionView.published
    )
    return chosen, sections


async def get_section(session: AsyncSession, city_code: str, code: str) -> Section:
    """The section ``code`` of a city, or 404."""
    section = await SectionRepository.from_session(session).find(city_code, code)
    if section is None:
        raise NotFound(f"City {city_code} has no section {code!r}.", city=city_code, code=code)
    return section


async def read_section(
    session: AsyncSession,
    principal: Principal | None,
    city_code: str,
    code: str,
    *,
    view: SectionView | None,
) -> tuple[SectionView, Section]:
    """A section in the view the reader gets, and that view; 404 if that view has no text."""
    chosen = resolve_view(view, principal)
    section = await get_section(session, city_code, code)
    if chosen is SectionView.published and section.published_version is None:
        raise NotFound(f"Section {code!r} of {city_code} is not published yet.")
    return chosen, section


async def write_section(
    session: AsyncSession,
    principal: Principal,
    city_code: str,
    code: str,
    payload: SectionWrite,
    *,
    if_match: str | None,
) -> tuple[Section, bool]:
    """Create the section or replace its working text; returns it and whether it is new."""
    await get_city(session, city_code)
    ensure_city_editor(principal, city_code)
    repository = SectionRepository.from_session(session)
    section = await repository.find(city_code, code)
    if section is None:
        if if_match is not None and if_match.strip() != "":
            raise PreconditionFailed(
                f"City {city_code} has no section {code!r} yet; create it without If-Match."
            )
        section = Section(
            city_code=city_code,
            code=code,
            title=payload.title,
            narrative=payload.narrative,
            status=SectionStatus.draft.value,
            updated_by=principal.subject,
        )
        await repository.add(section)
        await session.refresh(section)
        return section, True
    check_if_match(if_match, section.version, resource="section")
    section.title = payload.title
    section.narrative = payload.narrative
    section.status = SectionStatus.draft
    section.updated_by = principal.subject
    await SectionRepository.from_session(session).save_changes(section, resource="section")
    return section, False


async def transition_section(
    session: AsyncSession,
    principal: Principal,
    city_code: str,
    code: str,
    payload: SectionTransition,
    *,
    if_match: str | None,
) -> Section:
    """Move a section along draft → in_review → published (or back to draft)."""
    section = await get_section(session, city_code, code)
    ensure_city_editor(principal, city_code)
    check_if_match(if_match, section.version, resource="section")
    current = SectionStatus(section.status)
    if payload.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise Conflict(
            f"A {current} section cannot become {payload.status} (allowed: {allowed}).",
            status_from=current.value,
            status_to=payload.status.value,
        )
    section.status = payload.status
    section.version += 1
    if payload.status is SectionStatus.published:
        section.published_title = section.title
        section.published_narrative = section.narrative
        section.published_version = section.version
        section.published_at = datetime.now(UTC)
    section.updated_by = principal.subject
    await SectionRepository.from_session(session).flush(resource="section")
    await session.refresh(section)
    return section


async def delete_section(
    session: AsyncSession,
    principal: Principal,
    city_code: str,
    code: str,
    *,
    if_match: str | None,
) -> None:
    """Remove a section, published copy included."""
    section = await get_section(session, city_code, code)
    ensure_city_editor(principal, city_code)
    check_if_match(if_match, section.version, resource="section", required=False)
    await SectionRepository.from_session(session).delete(section)
