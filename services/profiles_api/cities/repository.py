from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select

from services.profiles_api.challenges.models import Challenge
from services.profiles_api.cities.models import City
from services.profiles_api.editions.models import Edition
from services.profiles_api.observations.models import Observation
from services.profiles_api.sections.models import Section
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class CityRepository(Repository[City]):
    model = City

    async def search(
        self,
        page: PageParams,
        *,
        membership: str | None = None,
        region: str | None = None,
        country: str | None = None,
    ) -> Sequence[City]:
        statement = select(City)
        if membership is not None:
            statement = statement.where(City.membership_status == membership)
        if region is not None:
            statement = statement.where(City.region == region)
        if country is not None:
            statement = statement.where(City.country == country)
        result = await self.session.scalars(keyset(statement, page, City.code))
        return result.all()

    async def all(self) -> Sequence[City]:
        return (await self.session.scalars(select(City).order_by(City.code))).all()

    async def codes(self) -> set[str]:
        return set((await self.session.scalars(select(City.code))).all())

    async def dependent_kinds(self, code: str) -> list[str]:
        """Which kinds of data still refer to the city."""
        kinds = []
        for name, model in (
            ("observations", Observation),
            ("sections", Section),
            ("challenges", Challenge),
            ("editions", Edition),
        ):
            found = await self.session.scalar(select(exists().where(model.city_code == code)))
            if found:
                kinds.append(name)
        return kinds
