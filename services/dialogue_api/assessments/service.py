"""The dialogue's read model of profiles' published assessments, the check an assessment
indicator cited as evidence makes of it, and a city's gaps with the recommendations that
address them.

Profiles owns the assessments. Its ``assessment.published`` events reach this model through
the worker (``tasks.py``); a write here never calls profiles and nothing queries the profiles
schema. A published assessment is final, so applying its event again changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_unpublished
from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
from services.dialogue_api.assessments.repository import AssessmentRefRepository
from services.dialogue_api.cities.service import get_city
from shared.auth import Principal
from shared.contracts.events import AssessmentPublished
from shared.errors import ValidationFailed, field_error

if TYPE_CHECKING:
    from services.dialogue_api.recommendations.models import Evidence, Recommendation

#: A cited assessment indicator: (city code, framework code, indicator code).
CitedKey = tuple[str, str, str]


async def apply_assessment_published(session: AsyncSession, payload: AssessmentPublished) -> bool:
    """Keep a published assessment and its indicators' scores; ``False`` when it is kept
    already (a redelivered event)."""
    repository = AssessmentRefRepository.from_session(session)
    if await repository.get(payload.assessment_id) is not None:
        return False
    scores = {(s.level, s.code): s for s in payload.scores}
    overall = scores.get(("overall", ""))
    await repository.add(
        AssessmentRef(
            assessment_id=payload.assessment_id,
            city_code=payload.city,
            framework_code=payload.framework.code,
            framework_version=payload.framework.version,
            framework_titles=payload.framework.titles,
            rankable=payload.framework.rankable,
            reference_date=payload.reference_date,
            published_at=payload.published_at,
            overall_score=overall.score if overall else None,
        )
    )
    rows = []
    for position, indicator in enumerate(payload.indicators):
        score = scores.get(("indicator", indicator.code))
        rows.append(
            AssessmentIndicatorRef(
                assessment_id=payload.assessment_id,
                code=indicator.code,
                area_code=indicator.area,
                position=position,
                titles=indicator.titles,
                score=score.score if score else None,
                reason=score.reason if score else "not_scored",
                completeness=score.completeness if score else 0.0,
            )
        )
    await repository.replace_indicators(payload.assessment_id, rows)
    return True


async def cited_indicators(
    session: AsyncSession, keys: Iterable[CitedKey]
) -> Mapping[CitedKey, tuple[AssessmentRef, AssessmentIndicatorRef]]:
    """Each cited indicator's latest published assessment of its city and framework, and
    its row there (absent keys: no published assessment has it)."""
    return await AssessmentRefRepository.from_session(session).cited(keys)


async def ensure_cited_indicators(
    session: AsyncSession, keys_by_field: Mapping[str, CitedKey]
) -> None:
    """422 naming each field (``evidence.0.assessment.indicator``) whose indicator no
    published assessment of that city in that framework has."""
    found = await cited_indicators(session, keys_by_field.values())
    errors = [
        field_error(
            name,
            f"no published {framework} assessment of {city} has an indicator {indicator!r}",
            value=indicator,
        )
        for name, (city, framework, indicator) in keys_by_field.items()
        if (city, framework, indicator) not in found
    ]
    if errors:
        raise ValidationFailed(
            "Some assessment indicators are in no published assessment.", errors=errors
        )


@dataclass
class Gap:
    """An indicator of a city's latest assessment scoring below the threshold, with the
    evidence links (and their recommendations) citing it."""

    indicator: AssessmentIndicatorRef
    citations: list[tuple[Evidence, Recommendation]] = field(default_factory=list)


@dataclass
class AssessmentGaps:
    assessment: AssessmentRef
    gaps: list[Gap]


async def assessment_gaps(
    session: AsyncSession, principal: Principal | None, city: str, threshold: float
) -> Sequence[AssessmentGaps]:
    """For the city's latest published assessment of each framework, its indicators scoring
    below ``threshold`` with the recommendations (the caller may see) whose evidence cites
    them. 404 for a city the dialogue does not know."""
    await get_city(session, city)
    repository = AssessmentRefRepository.from_session(session)
    latest = await repository.latest_of_city(city)
    below = await repository.indicators_below([a.assessment_id for a in latest], threshold)
    citing = await repository.citing_recommendations(
        city,
        {a.framework_code for a in latest},
        public_only=not sees_unpublished(principal),
    )
    by_indicator: dict[tuple[str, str], list[tuple[Evidence, Recommendation]]] = defaultdict(list)
    for link, recommendation in citing:
        by_indicator[link.framework_code, link.indicator_code].append((link, recommendation))
    gaps: dict[int, list[Gap]] = defaultdict(list)
    frameworks = {a.assessment_id: a.framework_code for a in latest}
    for indicator in below:
        key = (frameworks[indicator.assessment_id], indicator.code)
        gaps[indicator.assessment_id].append(Gap(indicator, by_indicator.get(key, [])))
    return [AssessmentGaps(a, gaps.get(a.assessment_id, [])) for a in latest]
