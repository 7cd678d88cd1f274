from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.engine import Row

from services.profiles_api.aggregates.models import Aggregate
from services.profiles_api.aggregates.schemas import AggregateGroup
from services.profiles_api.editions.models import Edition
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.repository import ObservationFilter, preferred_ids
from services.profiles_api.sources.models import Source
from shared.pagination import PageParams, keyset
from shared.repository import Repository

#: The order of a city's editions (lists show the newest first).
EDITION_ORDER = (Edition.year, Edition.number)


def city_of(edition_id: str) -> str:
    """The city an edition id names (its first part)."""
    return edition_id.split("-", 1)[0]


class EditionRepository(Repository[Edition]):
    model = Edition

    async def find(self, edition_id: str) -> Edition | None:
        return await self.session.scalar(
            select(Edition).where(
                Edition.city_code == city_of(edition_id), Edition.id == edition_id
            )
        )

    async def next_number(self, city_code: str, year: int) -> int:
        """The next number of the city's editions of ``year``, the numbering locked until the
        transaction ends: two publications at once take 1 and 2, never the same."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"profiles.edition:{city_code}:{year}"},
        )
        last = await self.session.scalar(
            select(func.max(Edition.number)).where(
                Edition.city_code == city_code, Edition.year == year
            )
        )
        return (last or 0) + 1

    async def for_city(self, city_code: str, page: PageParams) -> Sequence[Edition]:
        statement = select(Edition).where(Edition.city_code == city_code)
        return (
            await self.session.scalars(keyset(statement, page, *EDITION_ORDER, descending=True))
        ).all()

    async def exists_for(self, city_code: str) -> bool:
        """Whether the city has an edition, withdrawn or not."""
        found = await self.session.scalar(
            select(Edition.id).where(Edition.city_code == city_code).limit(1)
        )
        return found is not None

    async def latest_after(self, edition: Edition) -> Edition | None:
        """The latest edition of the city published after ``edition`` and not withdrawn."""
        return await self.session.scalar(
            select(Edition)
            .where(
                Edition.city_code == edition.city_code,
                Edition.withdrawn_at.is_(None),
                tuple_(Edition.year, Edition.number) > tuple_(edition.year, edition.number),
            )
            .order_by(Edition.year.desc(), Edition.number.desc())
            .limit(1)
        )

    async def preferred_values(self, city_code: str) -> Sequence[Row[Observation, Source]]:
        """The preferred value of every indicator, period, scope and breakdown of the city,
        each with its source, in a stable order."""
        criteria = ObservationFilter(cities=[city_code])
        statement = (
            select(Observation, Source)
            .join(Source, Source.id == Observation.source_id)
            .where(Observation.id.in_(preferred_ids(criteria)))
            .order_by(
                Observation.indicator_code,
                Observation.period_start,
                Observation.period,
                Observation.scope,
                Observation.disaggregation,
            )
        )
        return (await self.session.execute(statement)).all()

    async def network_totals(self, indicators: Sequence[str]) -> Sequence[Aggregate]:
        """The network aggregates of the totals of ``indicators``."""
        return (
            await self.session.scalars(
                select(Aggregate)
                .where(
                    Aggregate.group_kind == AggregateGroup.network,
                    Aggregate.disaggregation == "",
                    Aggregate.indicator_code.in_(indicators),
                )
                .order_by(Aggregate.indicator_code, Aggregate.period, Aggregate.scope)
            )
        ).all()
