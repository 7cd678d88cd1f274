"""Sources of figures: who published them, where, and how far they can be trusted."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.sources.models import Source
from services.profiles_api.sources.repository import SourceRepository
from services.profiles_api.sources.schemas import (
    DEFAULT_RELIABILITY,
    SourceCreate,
    SourceKind,
    SourceUpdate,
)
from shared.auth import Principal
from shared.concurrency import check_if_match
from shared.errors import Conflict, Forbidden, NotFound
from shared.pagination import PageParams


async def list_sources(
    session: AsyncSession,
    page: PageParams,
    *,
    kind: SourceKind | None = None,
    q: str | None = None,
) -> Sequence[Source]:
    """A page of sources, by id, optionally of one kind or with ``q`` in title or publisher."""
    return await SourceRepository.from_session(session).search(page, kind=kind, q=q)


async def get_source(session: AsyncSession, source_id: int) -> Source:
    """The source with ``source_id``, or 404."""
    source = await SourceRepository.from_session(session).get(source_id)
    if source is None:
        raise NotFound(f"No source with id {source_id}.", id=source_id)
    return source


async def create_source(
    session: AsyncSession, principal: Principal, payload: SourceCreate
) -> Source:
    """Add a source; any editor may, since figures of every city need one."""
    if not principal.can_edit_any_city():
        raise Forbidden("Only editors and administrators may add sources.")
    repository = SourceRepository.from_session(session)
    if (existing := await repository.find(payload.title, payload.url)) is not None:
        raise Conflict(
            "A source with this title and address exists already.", existing_id=existing.id
        )
    values = payload.model_dump(mode="json", exclude={"accessed_on"})
    values["reliability_rank"] = payload.reliability_rank or DEFAULT_RELIABILITY[payload.kind]
    source = Source(**values, accessed_on=payload.accessed_on)
    await repository.add(source)
    await session.refresh(source)
    return source


async def update_source(
    session: AsyncSession,
    principal: Principal,
    source_id: int,
    payload: SourceUpdate,
    *,
    if_match: str | None,
) -> Source:
    """Change a source (network administrators: a source serves every city's figures)."""
    source = await get_source(session, source_id)
    check_if_match(if_match, source.version, resource="source")
    changes = payload.changes()
    title = changes.get("title", source.title)
    url = changes.get("url", source.url)
    other = await SourceRepository.from_session(session).find(title, url)
    if other is not None and other.id != source.id:
        raise Conflict("Another source has this title and address.", existing_id=other.id)
    for field, value in changes.items():
        setattr(source, field, value.value if isinstance(value, enum.Enum) else value)
    await SourceRepository.from_session(session).save_changes(source, resource="source")
    if "reliability_rank" in changes:
        await _copy_rank_to_observations(session, source)
    return source


async def _copy_rank_to_observations(session: AsyncSession, source: Source) -> None:
    """Give the source's observations its new rank, which they keep a copy of (the order in
    which aggregates choose a city's value). After the source's own UPDATE: a writer holding
    the source (``FOR SHARE``) has committed its rows by then, so they are updated too. Their
    ``updated_at`` stays: their values did not change."""
    await session.execute(
        text(
            "UPDATE profiles.observation SET reliability_rank = :rank "
            "WHERE source_id = :source_id AND reliability_rank <> :rank"
        ),
        {"rank": source.reliability_rank, "source_id": source.id},
    )


async def delete_source(
    session: AsyncSession, principal: Principal, source_id: int, *, if_match: str | None
) -> None:
    """Remove a source that no observation cites."""
    source = await get_source(session, source_id)
    check_if_match(if_match, source.version, resource="source", required=False)
    repository = SourceRepository.from_session(session)
    if await repository.is_used(source_id):
        raise Conflict(f"Source {source_id} is cited by observations.", id=source_id)
    await repository.delete(source)
