"""What aggregation needs of the indicator catalogue: rules, formulas and who reads whom.

The catalogue is small (tens of indicators); it is read whole and walked in Python. The
figures themselves are only ever touched in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.indicators.formula import formula_inputs
from services.profiles_api.indicators.models import Indicator

#: The weight of weighted means: a city's total resident population.
WEIGHT_INDICATOR = "population"


@dataclass(frozen=True)
class Definition:
    """One indicator as aggregation sees it."""

    code: str
    theme: str
    aggregation: str
    formula: str | None
    inputs: tuple[str, ...]
    dimensions: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    definitions: dict[str, Definition]

    @classmethod
    async def load(cls, session: AsyncSession) -> Catalogue:
        """The whole catalogue as it is now."""
        rows = await session.execute(
            select(
                Indicator.code,
                Indicator.theme,
                Indicator.aggregation,
                Indicator.formula,
                Indicator.dimensions,
            )
        )
        return cls(
            {
                row.code: Definition(
                    code=row.code,
                    theme=row.theme,
                    aggregation=row.aggregation,
                    formula=row.formula,
                    inputs=tuple(formula_inputs(row.formula)) if row.formula else (),
                    dimensions=tuple(row.dimensions),
                )
                for row in rows
            }
        )

    def get(self, code: str) -> Definition | None:
        return self.definitions.get(code)

    def affected_by(self, changed: Iterable[str]) -> set[str]:
        """The indicators whose derived values or aggregates depend on ``changed``: those
        themselves, the derived indicators reading them (through any chain of formulas), and,
        when the weight changes, every indicator aggregated as a weighted mean."""
        affected = set(changed)
        frontier = list(affected)
        while frontier:
            code = frontier.pop()
            for definition in self.definitions.values():
                if code in definition.inputs and definition.code not in affected:
                    affected.add(definition.code)
                    frontier.append(definition.code)
        if WEIGHT_INDICATOR in affected:
            affected |= {
                d.code for d in self.definitions.values() if d.aggregation == "weighted_mean"
            }
        return affected

    def derived_inputs(self, code: str) -> set[str]:
        """The derived indicators ``code``'s formula reads, directly or through others."""
        found: set[str] = set()
        frontier = [code]
        while frontier:
            definition = self.definitions.get(frontier.pop())
            for name in definition.inputs if definition else ():
                read = self.definitions.get(name)
                if read is not None and read.formula is not None and name not in found:
                    found.add(name)
                    frontier.append(name)
        return found

    def in_order(self, codes: Iterable[str]) -> list[str]:
        """``codes`` with every derived indicator after the inputs it reads (then by code)."""
        wanted = set(codes)
        ordered: list[str] = []
        placed: set[str] = set()

        def place(code: str, path: frozenset[str]) -> None:
            if code in placed or code in path:  # a cycle cannot be saved; the catalogue refuses
                return
            definition = self.definitions.get(code)
            for name in sorted(definition.inputs if definition else ()):
                place(name, path | {code})
            placed.add(code)
            if code in wanted:
                ordered.append(code)

        for code in sorted(wanted):
            place(code, frozenset())
        return ordered
