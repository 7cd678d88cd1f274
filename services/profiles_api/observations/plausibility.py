"""The plausible range of a figure, by its indicator's unit: the one rule every way figures
arrive obeys (JSON batches and CSV imports both validate rows through
``validation.ObservationValidator``, which applies it to ``value``, ``value_low`` and
``value_high``).

Values are stored as ``double precision``, which holds far more than any real figure (up to
about 1.8e308). A value near that limit is accepted by the column but breaks what is
computed from it: the network's sums and weighted means overflow, and the indicator's
aggregates could not be recomputed for any city. So each unit has bounds well inside what
aggregation can combine:

- ``persons`` and ``count``: whole numbers from 0 to 10¹⁰ (ten billion, above the world's
  population);
- ``percent``: 0 to 100;
- the others (``per_mille``, ``currency``, ``index``, ``score``): -10¹⁵ to 10¹⁵. Double
  precision carries 15 significant digits, so beyond 10¹⁵ a value is no longer exact to the
  unit; and a sum of such values over any network, or one weighted by a population of at
  most 10¹⁰, stays far from overflowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.fields import FieldProblem

#: The largest count of people or things a city can publish.
MAX_COUNT = 10**10
#: The largest magnitude of a value in the other units: what double precision keeps exact to
#: the unit (15 significant digits).
MAX_MAGNITUDE = 10**15


@dataclass(frozen=True)
class Bounds:
    """The range a value of one unit must lie in, and whether it counts whole units."""

    unit: str
    low: float
    high: float
    whole: bool = False

    def check(self, field: str, number: float) -> None:
        """``FieldProblem`` naming ``field`` if ``number`` is outside the unit's range."""
        if not self.low <= number <= self.high:
            negative = " (it cannot be negative)" if number < 0 and self.low == 0 else ""
            raise FieldProblem(
                field,
                f"{number:.15g} is outside {_shown(self.low)} to {_shown(self.high)}, "
                f"the plausible range of a value in {self.unit}{negative}",
            )
        if self.whole and number != int(number):
            raise FieldProblem(
                field,
                f"{number:.15g} is not a whole number: the indicator ({self.unit}) counts "
                "whole units",
            )


def _shown(bound: float) -> str:
    return f"{bound:,.0f}" if abs(bound) >= 1000 else f"{bound:g}"


#: Every unit of the catalogue and its bounds.
BOUNDS: dict[Unit, Bounds] = {
    Unit.persons: Bounds("persons", 0, MAX_COUNT, whole=True),
    Unit.count_: Bounds("count", 0, MAX_COUNT, whole=True),
    Unit.percent: Bounds("percent", 0, 100),
    **{
        unit: Bounds(unit.value, -MAX_MAGNITUDE, MAX_MAGNITUDE)
        for unit in (Unit.per_mille, Unit.currency, Unit.index_, Unit.score)
    },
}


@cache  # called for every row of an import, with the few units of the catalogue
def bounds_for(unit: str, value_type: str) -> Bounds:
    """The bounds of a value of an indicator in ``unit``; whole numbers also when the
    indicator's ``value_type`` is ``integer``."""
    bounds = BOUNDS[Unit(unit)]
    if value_type == "integer" and not bounds.whole:
        return Bounds(bounds.unit, bounds.low, bounds.high, whole=True)
    return bounds
