from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from services.dialogue_api.cities.models import CityRef
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class CityRefRepository(Repository[CityRef]):
    model = CityRef

    async def listed(self, page: PageParams, *, include_removed: bool = False) -> Sequence[CityRef]:
        statement = select(CityRef)
        if not include_removed:
            statement = statement.where(CityRef.removed_at.is_(None))
        return (await self.session.scalars(keyset(statement, page, CityRef.code))).all()

    async def current_codes(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` name cities the network has now (not removed)."""
        wanted = set(codes)
        if not wanted:
            return set()
        found = await self.session.scalars(
            select(CityRef.code).where(CityRef.code.in_(wanted), CityRef.removed_at.is_(None))
        )
        return set(found)

    async def current_codes_except(self, codes: Iterable[str]) -> Sequence[str]:
        """The codes of the cities the network has now (not removed) other than ``codes``."""
        statement = select(CityRef.code).where(CityRef.removed_at.is_(None))
        if kept := set(codes):
            statement = statement.where(CityRef.code.not_in(kept))
        return (await self.session.scalars(statement.order_by(CityRef.code))).all()

    async def for_update(self, code: str) -> CityRef | None:
        return await self.session.scalar(
            select(CityRef).where(CityRef.code == code).with_for_update()
        )
