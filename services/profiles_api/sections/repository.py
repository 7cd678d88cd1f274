from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from services.profiles_api.sections.models import Section
from shared.repository import Repository


class SectionRepository(Repository[Section]):
    model = Section

    async def for_city(self, city_code: str, *, published_only: bool) -> Sequence[Section]:
        statement = select(Section).where(Section.city_code == city_code).order_by(Section.code)
        if published_only:
            statement = statement.where(Section.published_version.is_not(None))
        return (await self.session.scalars(statement)).all()

    async def find(self, city_code: str, code: str) -> Section | None:
        return await self.session.scalar(
            select(Section).where(Section.city_code == city_code, Section.code == code)
        )
