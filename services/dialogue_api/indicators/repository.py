from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from services.dialogue_api.indicators.models import IndicatorRef
from shared.repository import Repository


class IndicatorRefRepository(Repository[IndicatorRef]):
    model = IndicatorRef

    async def current_codes(self, codes: Iterable[str]) -> set[str]:
        """Which of ``codes`` name indicators the catalogue has now (not removed)."""
        wanted = set(codes)
        if not wanted:
            return set()
        found = await self.session.scalars(
            select(IndicatorRef.code).where(
                IndicatorRef.code.in_(wanted), IndicatorRef.removed_at.is_(None)
            )
        )
        return set(found)

    async def current_codes_except(self, codes: Iterable[str]) -> Sequence[str]:
        """The codes of the indicators the catalogue has now (not removed) but ``codes``."""
        statement = select(IndicatorRef.code).where(IndicatorRef.removed_at.is_(None))
        if kept := set(codes):
            statement = statement.where(IndicatorRef.code.not_in(kept))
        return (await self.session.scalars(statement.order_by(IndicatorRef.code))).all()

    async def by_codes(self, codes: Iterable[str]) -> dict[str, IndicatorRef]:
        """The stored indicators of ``codes``, removed ones included, by code."""
        wanted = set(codes)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(IndicatorRef).where(IndicatorRef.code.in_(wanted)))
        return {row.code: row for row in rows}

    async def for_update(self, code: str) -> IndicatorRef | None:
        return await self.session.scalar(
            select(IndicatorRef).where(IndicatorRef.code == code).with_for_update()
        )
