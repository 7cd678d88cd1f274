from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, func, select

from services.profiles_api.observations.models import Observation
from services.profiles_api.sources.models import Source
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class SourceRepository(Repository[Source]):
    model = Source

    async def search(
        self, page: PageParams, *, kind: str | None = None, q: str | None = None
    ) -> Sequence[Source]:
        statement = select(Source)
        if kind is not None:
            statement = statement.where(Source.kind == kind)
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
            statement = statement.where(
                Source.title.ilike(pattern) | Source.publisher.ilike(pattern)
            )
        return (await self.session.scalars(keyset(statement, page, Source.id))).all()

    async def find(self, title: str, url: str | None) -> Source | None:
        """The source with this title and address (the identity imports match on)."""
        return await self.session.scalar(
            select(Source).where(
                Source.title == title, func.coalesce(Source.url, "") == (url or "")
            )
        )

    async def is_used(self, source_id: int) -> bool:
        return bool(
            await self.session.scalar(select(exists().where(Observation.source_id == source_id)))
        )

    async def existing_ids(self, ids: set[int]) -> set[int]:
        if not ids:
            return set()
        rows = await self.session.scalars(select(Source.id).where(Source.id.in_(ids)))
        return set(rows.all())
