"""Small-number suppression: breakdowns of counts small enough to identify people.

A figure of an indicator counted in ``persons`` or ``count``, broken down (not the total),
with a value below ``MC2CM_SUPPRESSION_THRESHOLD`` is shown only to callers who may edit its
city; everyone else reads ``value: null`` and ``status: "suppressed"``. Every read path asks
``Suppression`` (observations, their history, the CSV export, profiles, comparisons,
aggregates and derived values), so the rule lives here only. It is asked by the services,
which receive the caller (``Reader``): routers and the export writer render what a service
returned and never import this module, so no read path can forget the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.fields import SUPPRESSED_VALUE, ShownValue, ValueStatus
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.reader import Reader
from shared.auth import Principal

#: Units whose values count people (or things that stand for people, such as applications).
COUNT_UNITS = ("persons", "count")
#: The fields that carry a figure's value; all of them go when it is suppressed.
HIDDEN_FIELDS = ("value", "value_low", "value_high")


@dataclass(frozen=True)
class Suppression:
    """What one caller may see of small counts."""

    threshold: int
    principal: Principal | None
    count_indicators: frozenset[str]

    @classmethod
    async def load(cls, session: AsyncSession, reader: Reader) -> Suppression:
        """The rule for ``reader``, with the catalogue's count indicators."""
        principal, threshold = reader.principal, reader.suppression_threshold
        if threshold == 0 or (principal is not None and principal.is_admin):
            # Nothing is hidden from them: no need to ask the catalogue.
            return cls(threshold=threshold, principal=principal, count_indicators=frozenset())
        codes = await session.scalars(select(Indicator.code).where(Indicator.unit.in_(COUNT_UNITS)))
        return cls(threshold=threshold, principal=principal, count_indicators=frozenset(codes))

    @classmethod
    async def load_for(
        cls,
        session: AsyncSession,
        reader: Reader,
        figures: Iterable[tuple[str, str, float | None]],
    ) -> Suppression:
        """The rule for ``reader`` over these figures (city, breakdown, value) only.

        The catalogue is asked only if one of them could be hidden from the caller (a
        breakdown below the threshold in a city they may not see): whatever the catalogue
        says, every other figure is shown, so a page of totals or of large values costs no
        query. Use the rule for those figures only.
        """
        principal, threshold = reader.principal, reader.suppression_threshold
        rule = cls(threshold=threshold, principal=principal, count_indicators=frozenset())
        if threshold == 0 or (principal is not None and principal.is_admin):
            return rule
        if any(
            disaggregation != ""
            and value is not None
            and value < threshold
            and not rule.may_see_city(city)
            for city, disaggregation, value in figures
        ):
            return await cls.load(session, reader)
        return rule

    @classmethod
    async def load_for_observations(
        cls, session: AsyncSession, reader: Reader, observations: Iterable[Observation]
    ) -> Suppression:
        """``load_for`` these observations."""
        return await cls.load_for(
            session, reader, ((o.city_code, o.disaggregation, o.value) for o in observations)
        )

    def may_see_city(self, city: str) -> bool:
        """Whether the caller sees the city's small counts (admins and its editors do)."""
        return self.threshold == 0 or (
            self.principal is not None and self.principal.can_edit_city(city)
        )

    def is_small(self, indicator: str, disaggregation: str, value: float | None) -> bool:
        """Whether the figure is a breakdown of a count below the threshold (whoever asks)."""
        return (
            value is not None
            and value < self.threshold
            and disaggregation != ""
            and indicator in self.count_indicators
        )

    def hides(self, city: str, indicator: str, disaggregation: str, value: float | None) -> bool:
        """Whether this caller reads the figure as suppressed."""
        return self.is_small(indicator, disaggregation, value) and not self.may_see_city(city)

    def hides_observation(self, observation: Observation) -> bool:
        return self.hides(
            observation.city_code,
            observation.indicator_code,
            observation.disaggregation,
            observation.value,
        )

    def shown(self, observation: Observation) -> ShownValue:
        """The observation's value, range and status as this caller reads them."""
        if self.hides_observation(observation):
            return SUPPRESSED_VALUE
        return ShownValue(
            value=observation.value,
            value_low=observation.value_low,
            value_high=observation.value_high,
            status=ValueStatus.shown,
        )

    def hides_recorded(self, observation: Observation | None, recorded: dict[str, Any]) -> bool:
        """Whether one side (old or new) of a history entry is hidden.

        A withdrawn observation no longer says what it was a breakdown of, or of which city:
        its small values are hidden from everyone but admins, whatever they were.
        """
        value = recorded.get("value")
        if observation is not None:
            return self.hides(
                observation.city_code,
                observation.indicator_code,
                observation.disaggregation,
                value,
            )
        admin = self.principal is not None and self.principal.is_admin
        return self.threshold > 0 and value is not None and value < self.threshold and not admin

    def may_see_cities(self, cities: Iterable[str]) -> bool:
        return all(self.may_see_city(city) for city in cities)

    def hides_aggregate(
        self,
        indicator: str,
        disaggregation: str,
        smallest: float | None,
        cities: Iterable[str],
        *,
        hidden_contribution: bool = False,
    ) -> bool:
        """Whether a network or regional figure is hidden: one of its contributions is hidden
        from the caller, and the aggregate less the other cities' values would reveal it.

        For breakdowns of counts, ``smallest`` is the smallest contributing value (``None``,
        not yet recomputed, counts as small) and the aggregate is shown only to who may see
        every contributing city. ``hidden_contribution``: a city's derived value in it is
        hidden (computed from a small count).
        """
        if self.threshold == 0 or disaggregation == "":
            return False
        if hidden_contribution:
            return True
        if indicator not in self.count_indicators:
            return False
        small = smallest is None or smallest < self.threshold
        return small and not self.may_see_cities(cities)

    def hides_derived(
        self,
        city: str,
        indicator: str,
        disaggregation: str,
        value: float | None,
        inputs: Sequence[dict[str, Any]],
    ) -> tuple[bool, list[bool]]:
        """Whether a derived value is hidden, and which of its inputs are.

        An input that is a small count the caller may not see is hidden, and so is the value
        computed from it: with the other inputs it would reveal the count.
        """
        hidden_inputs = [
            self.hides(city, str(recorded["indicator"]), disaggregation, recorded["value"])
            for recorded in inputs
        ]
        hidden = any(hidden_inputs) or self.hides(city, indicator, disaggregation, value)
        return hidden, hidden_inputs


def without_values(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded state (history) with its value, range and bounds taken out."""
    return {name: None if name in HIDDEN_FIELDS else value for name, value in recorded.items()}
