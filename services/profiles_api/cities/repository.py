from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, case, exists, select
from sqlalchemy.dialects.postgresql import distinct_on

from services.profiles_api.challenges.models import Challenge
from services.profiles_api.cities.models import City
from services.profiles_api.editions.models import Edition
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.models import Observation
from services.profiles_api.sections.models import Section
from services.profiles_api.sources.models import Source
from shared.pagination import PageParams, keyset
from shared.repository import Repository

#: A city's own scope first, as ``observations.repository.latest_totals`` prefers it.
_SCOPE_RANK = case(
    (Observation.scope == "municipality", 0),
    (Observation.scope == "metro", 1),
    (Observation.scope.startswith("district:"), 2),
    (Observation.scope == "governorate", 3),
    (Observation.scope == "region", 4),
    else_=5,
)


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

    async def indicator(self, code: str) -> Indicator | None:
        return await self.session.get(Indicator, code)

    async def latest_totals(
        self, indicator: str, cities: Sequence[str]
    ) -> Sequence[Row[Observation, Source]]:
        """Each city's latest preferred total of ``indicator`` with its source: the latest
        period, then the city's own scope, the most reliable source, the newest entry (the
        rule of ``observations.repository.latest_totals``, which the map cannot import
        without a cycle between the domains). Totals are never suppressed: the rule hides
        small breakdowns only."""
        statement = (
            select(Observation, Source)
            .join(Source, Source.id == Observation.source_id)
            .where(
                Observation.city_code.in_(cities),
                Observation.indicator_code == indicator,
                Observation.disaggregation == "",
                Observation.value.is_not(None),
            )
            .ext(distinct_on(Observation.city_code))
            .order_by(
                Observation.city_code,
                Observation.period_end.desc(),
                _SCOPE_RANK,
                Source.reliability_rank,
                Observation.updated_at.desc(),
                Observation.id.desc(),
            )
        )
        return (await self.session.execute(statement)).all()
