from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from services.profiles_api.challenges.models import Challenge
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class ChallengeRepository(Repository[Challenge]):
    model = Challenge

    async def for_city(
        self,
        city_code: str,
        page: PageParams | None = None,
        *,
        theme: str | None = None,
        need_type: str | None = None,
        priority: str | None = None,
    ) -> Sequence[Challenge]:
        statement = select(Challenge).where(Challenge.city_code == city_code)
        if theme is not None:
            statement = statement.where(Challenge.theme == theme)
        if need_type is not None:
            statement = statement.where(Challenge.need_type == need_type)
        if priority is not None:
            statement = statement.where(Challenge.priority == priority)
        if page is None:
            return (await self.session.scalars(statement.order_by(Challenge.id))).all()
        return (await self.session.scalars(keyset(statement, page, Challenge.id))).all()

    async def in_city(self, city_code: str, challenge_id: int) -> Challenge | None:
        """The challenge if it is the city's."""
        return await self.session.scalar(
            select(Challenge).where(Challenge.id == challenge_id, Challenge.city_code == city_code)
        )

    async def naming_framework(self, city_code: str, framework: str) -> Sequence[Challenge]:
        """The city's challenges that name an indicator of ``framework``."""
        named = Challenge.assessment_indicators.contains([{"framework": framework}])
        statement = select(Challenge).where(Challenge.city_code == city_code, named)
        return (await self.session.scalars(statement.order_by(Challenge.id))).all()
