from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import exists, select

from services.profiles_api.indicators.formula import formula_inputs
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.models import Observation
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class IndicatorRepository(Repository[Indicator]):
    model = Indicator

    async def search(
        self, page: PageParams, *, theme: str | None = None, unit: str | None = None
    ) -> Sequence[Indicator]:
        statement = select(Indicator)
        if theme is not None:
            statement = statement.where(Indicator.theme == theme)
        if unit is not None:
            statement = statement.where(Indicator.unit == unit)
        return (await self.session.scalars(keyset(statement, page, Indicator.code))).all()

    async def by_codes(self, codes: Sequence[str]) -> dict[str, Indicator]:
        if not codes:
            return {}
        rows = await self.session.scalars(select(Indicator).where(Indicator.code.in_(codes)))
        return {indicator.code: indicator for indicator in rows}

    async def all(self) -> dict[str, Indicator]:
        rows = await self.session.scalars(select(Indicator))
        return {indicator.code: indicator for indicator in rows}

    async def definitions_for_writing(self) -> dict[str, Indicator]:
        """The catalogue, held (FOR SHARE) until the transaction ends: observations written
        against a definition cannot race a change of that definition."""
        rows = await self.session.scalars(
            select(Indicator).with_for_update(read=True),
            execution_options={"populate_existing": True},
        )
        return {indicator.code: indicator for indicator in rows}

    async def get_for_redefinition(self, code: str) -> Indicator | None:
        """The indicator, held (FOR UPDATE) while checking what its observations allow."""
        return await self.session.get(Indicator, code, with_for_update=True, populate_existing=True)

    async def has_observations(self, code: str) -> bool:
        return bool(
            await self.session.scalar(select(exists().where(Observation.indicator_code == code)))
        )

    async def dimensions_in_use(self, code: str, names: Collection[str]) -> list[str]:
        """Which of ``names`` the indicator's observations are broken down by."""
        in_use = []
        for name in sorted(names):
            used = await self.session.scalar(
                select(
                    exists().where(
                        Observation.indicator_code == code, Observation.dimensions.has_key(name)
                    )
                )
            )
            if used:
                in_use.append(name)
        return in_use

    async def used_in_formulas(self, code: str) -> list[str]:
        """Derived indicators whose formula reads ``code``."""
        rows = await self.session.scalars(select(Indicator).where(Indicator.formula.is_not(None)))
        return [
            indicator.code
            for indicator in rows
            if indicator.formula and code in formula_inputs(indicator.formula)
        ]
