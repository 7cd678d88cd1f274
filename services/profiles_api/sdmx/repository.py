"""The catalogue the SDMX structure is generated from: cities, indicators, sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.models import City
from services.profiles_api.db import audit_log_table
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.sources.models import Source

#: Resources whose changes change the structure's codelists.
CATALOGUE_RESOURCES = ("city", "indicator")


class CatalogueRepository:
    """Reads of the catalogue, bound to a session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> CatalogueRepository:
        return cls(session)

    async def cities(self) -> Sequence[Row[str, dict[str, str]]]:
        return (await self.session.execute(select(City.code, City.names).order_by(City.code))).all()

    async def indicators(self) -> Sequence[Row[str, dict[str, str], Unit, list[str]]]:
        statement = select(
            Indicator.code, Indicator.names, Indicator.unit, Indicator.dimensions
        ).order_by(Indicator.code)
        return (await self.session.execute(statement)).all()

    async def last_change(self) -> datetime | None:
        """When a city or an indicator was last created, changed or removed."""
        audit = audit_log_table.c
        changes = union_all(
            select(func.max(City.updated_at).label("at")),
            select(func.max(Indicator.updated_at).label("at")),
            select(func.max(audit.occurred_at).label("at")).where(
                audit.resource.in_(CATALOGUE_RESOURCES)
            ),
        ).subquery()
        last: datetime | None = await self.session.scalar(select(func.max(changes.c.at)))
        return last

    async def source_ids_by_title(self) -> dict[str, list[int]]:
        """The sources of each title (an SDMX ``SOURCE`` names one by its title)."""
        rows = await self.session.execute(select(Source.title, Source.id).order_by(Source.id))
        found: dict[str, list[int]] = {}
        for title, source_id in rows:
            found.setdefault(title, []).append(source_id)
        return found
