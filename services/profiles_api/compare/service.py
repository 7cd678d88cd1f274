"""Comparing cities on one measure, and saying plainly when the figures do not compare."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.models import City
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.compare.schemas import ComparabilityWarning, WarningKind
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.fields import (
    ESTIMATED_STATUSES,
    NO_VALUE,
    FieldProblem,
    ObsStatus,
    Period,
    ShownValue,
)
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.repository import latest_totals
from services.profiles_api.observations.suppression import Suppression
from services.profiles_api.sources.models import Source


class Match(NamedTuple):
    """A compared city, its figure (if it has one) and what the reader sees of its value."""

    city: City
    observation: Observation | None
    source: Source | None
    indicator: Indicator | None
    shown: ShownValue


def is_estimate(observation: Observation) -> bool:
    return (
        ObsStatus(observation.obs_status) in ESTIMATED_STATUSES
        or observation.value_low is not None
        or observation.value_high is not None
    )


async def compare(
    session: AsyncSession,
    reader: Reader,
    *,
    indicators: Sequence[str],
    cities: Sequence[str],
    period: Period | None,
) -> list[Match]:
    """For each city, the latest total of the first listed indicator it has a value for, as
    ``reader`` may see it.

    ``FieldProblem`` (field ``indicator`` or ``city``) when a code is unknown.
    """
    catalogue = await IndicatorRepository.from_session(session).by_codes(indicators)
    if missing := [code for code in indicators if code not in catalogue]:
        raise FieldProblem("indicator", f"unknown indicator(s): {', '.join(missing)}")
    known = {city.code: city for city in await CityRepository.from_session(session).all()}
    if unknown := [code for code in cities if code not in known]:
        raise FieldProblem("city", f"unknown city code(s): {', '.join(unknown)}")
    rows = await latest_totals(
        session,
        cities=cities,
        indicators=indicators,
        start=period.start if period else None,
        end=period.end if period else None,
        one_per_city=True,
    )
    # Comparisons read totals, which are never suppressed; the rule still decides.
    suppression = await Suppression.load_for_observations(session, reader, (o for o, _ in rows))
    found = {observation.city_code: (observation, source) for observation, source in rows}
    matches: list[Match] = []
    for code in cities:
        observation, source = found.get(code, (None, None))
        if observation is None:
            matches.append(Match(known[code], None, source, None, NO_VALUE))
            continue
        indicator = catalogue[observation.indicator_code]
        shown = suppression.shown(observation)
        matches.append(Match(known[code], observation, source, indicator, shown))
    return matches


def _differs(
    matches: list[Match],
    kind: WarningKind,
    label: str,
    attribute: Callable[[Observation, Indicator], str | None],
) -> ComparabilityWarning | None:
    by_value: dict[str, list[str]] = defaultdict(list)
    for city, observation, _, indicator, _ in matches:
        if observation is not None and indicator is not None:
            by_value[attribute(observation, indicator) or "unspecified"].append(city.code)
    if len(by_value) < 2:
        return None
    parts = "; ".join(f"{value}: {', '.join(codes)}" for value, codes in sorted(by_value.items()))
    return ComparabilityWarning(
        kind=kind,
        detail=f"The values differ in {label} ({parts}).",
        cities=sorted(code for codes in by_value.values() for code in codes),
        values={value: sorted(codes) for value, codes in sorted(by_value.items())},
    )


def comparability_warnings(matches: list[Match]) -> list[ComparabilityWarning]:
    """Every reason the matched values may not compare directly."""
    warnings = [
        warning
        for warning in (
            _differs(
                matches,
                WarningKind.population_concept,
                "population concept",
                lambda _, indicator: indicator.population_concept,
            ),
            _differs(matches, WarningKind.unit, "unit", lambda _, indicator: indicator.unit),
            _differs(matches, WarningKind.scope, "geographic scope", lambda o, _: o.scope),
            _differs(matches, WarningKind.period, "period", lambda o, _: o.period),
        )
        if warning is not None
    ]
    estimates = sorted(m.city.code for m in matches if m.observation and is_estimate(m.observation))
    if estimates:
        warnings.append(
            ComparabilityWarning(
                kind=WarningKind.estimate,
                detail=f"Estimates, not counts: {', '.join(estimates)}.",
                cities=estimates,
            )
        )
    missing = sorted(m.city.code for m in matches if m.observation is None)
    if missing:
        warnings.append(
            ComparabilityWarning(
                kind=WarningKind.missing,
                detail=f"No value for {', '.join(missing)}.",
                cities=missing,
            )
        )
    return warnings
