"""What an edition freezes, as plain JSON values, and its canonical form (RFC 8785)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import rfc8785

from services.profiles_api.aggregates.models import Aggregate
from services.profiles_api.assessments.models import Assessment, Score
from services.profiles_api.challenges.models import Challenge
from services.profiles_api.cities.models import City
from services.profiles_api.compare.schemas import ComparabilityWarning
from services.profiles_api.frameworks.models import Framework
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.fields import ShownValue
from services.profiles_api.observations.models import Observation
from services.profiles_api.profiles.repository import CoverageRow
from services.profiles_api.sections.models import Section
from services.profiles_api.sources.models import Source


def canonical(snapshot: dict[str, Any]) -> tuple[str, str]:
    """The snapshot as RFC 8785 canonical JSON, and the SHA-256 (hex) of its UTF-8 bytes."""
    data = rfc8785.dumps(snapshot)
    return data.decode("utf-8"), hashlib.sha256(data).hexdigest()


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def city_json(city: City) -> dict[str, Any]:
    """The city's public fields (its focal points' contacts are not published)."""
    return {
        "code": city.code,
        "names": dict(city.names),
        "country": city.country,
        "region": city.region,
        "latitude": city.latitude,
        "longitude": city.longitude,
        "timezone": city.timezone,
        "membership": {
            "status": str(city.membership_status),
            "since": _day(city.membership_since),
        },
    }


def indicator_json(indicator: Indicator) -> dict[str, Any]:
    return {
        "names": dict(indicator.names),
        "theme": indicator.theme,
        "unit": str(indicator.unit),
        "population_concept": indicator.population_concept,
    }


def source_json(source: Source) -> dict[str, Any]:
    return {
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "kind": str(source.kind),
        "reliability_rank": source.reliability_rank,
    }


def figure_json(observation: Observation, shown: ShownValue) -> dict[str, Any]:
    """A preferred value, as the public reads it (a small count suppressed)."""
    return {
        "indicator": observation.indicator_code,
        "period": observation.period,
        "period_start": _day(observation.period_start),
        "period_end": _day(observation.period_end),
        "scope": observation.scope,
        "disaggregation": observation.disaggregation,
        "dimensions": dict(observation.dimensions),
        "value": shown.value,
        "value_low": shown.value_low,
        "value_high": shown.value_high,
        "status": str(shown.status),
        "obs_status": str(observation.obs_status),
        "note": observation.note,
        "source": str(observation.source_id),
        "observation_id": observation.id,
    }


def section_json(section: Section) -> dict[str, Any]:
    """A published section: its last published title and text, in every language."""
    return {
        "code": section.code,
        "title": dict(section.published_title or {}),
        "narrative": dict(section.published_narrative or {}),
        "published_version": section.published_version,
        "published_at": section.published_at.isoformat() if section.published_at else None,
    }


def challenge_json(challenge: Challenge) -> dict[str, Any]:
    return {
        "id": challenge.id,
        "theme": challenge.theme,
        "need_type": str(challenge.need_type),
        "description": dict(challenge.description),
        "priority": str(challenge.priority),
    }


def coverage_json(row: CoverageRow) -> dict[str, Any]:
    return {
        "theme": row.theme,
        "indicators": row.indicators,
        "with_data": row.with_data,
        "recent": row.recent,
        "latest_period_end": _day(row.latest_period_end),
    }


def aggregate_json(aggregate: Aggregate) -> dict[str, Any]:
    return {
        "indicator": aggregate.indicator_code,
        "period": aggregate.period,
        "scope": aggregate.scope,
        "rule": str(aggregate.rule),
        "value": aggregate.value,
        "city_count": aggregate.city_count,
        "cities": sorted(aggregate.cities),
    }


def warnings_json(indicator: str, warnings: Iterable[ComparabilityWarning]) -> dict[str, Any]:
    return {
        "indicator": indicator,
        "warnings": [
            {"kind": str(w.kind), "detail": w.detail, "cities": list(w.cities)} for w in warnings
        ],
    }


def assessment_json(
    assessment: Assessment,
    framework: Framework,
    scores: Sequence[Score],
    titles: dict[tuple[str, str], dict[str, str]],
) -> dict[str, Any]:
    """A published assessment as the edition keeps it: its framework version, reference date
    and every score with its completeness (no answers: they are in the assessment)."""
    return {
        "id": assessment.id,
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "titles": dict(framework.titles),
            "model": framework.model,
            "rankable": framework.rankable,
            "content_hash": framework.content_hash,
        },
        "reference_date": _day(assessment.reference_date),
        "published_at": published_at_json(assessment.published_at)
        if assessment.published_at
        else None,
        "scores": [
            {
                "level": score.level,
                "code": score.code,
                "parent": score.parent_code,
                "titles": dict(titles.get((score.level, score.code), {})),
                "score": score.score,
                "reason": score.reason,
                "answered": score.answered,
                "unknown": score.unknown,
                "not_applicable": score.not_applicable,
                "total": score.total,
            }
            for score in scores
        ],
    }


def build(
    *,
    edition: dict[str, Any],
    city: City,
    indicators: dict[str, Indicator],
    values: Sequence[tuple[Observation, Source, ShownValue]],
    key_figures: Sequence[Observation],
    sections: Sequence[Section],
    challenges: Sequence[Challenge],
    coverage: Sequence[CoverageRow],
    comparability: list[dict[str, Any]],
    aggregates: Sequence[Aggregate],
    assessments: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The snapshot of an edition (format ``mc2cm.edition/1``)."""
    used = sorted({observation.indicator_code for observation, _, _ in values})
    sources = {str(source.id): source_json(source) for _, source, _ in values}
    return {
        "format": "mc2cm.edition/1",
        "edition": edition,
        "city": city_json(city),
        "indicators": {code: indicator_json(indicators[code]) for code in used},
        "sources": sources,
        "figures": [figure_json(observation, shown) for observation, _, shown in values],
        "key_figures": [
            {"indicator": o.indicator_code, "period": o.period, "scope": o.scope}
            for o in key_figures
        ],
        "sections": [section_json(section) for section in sections],
        "challenges": [challenge_json(challenge) for challenge in challenges],
        "coverage": [coverage_json(row) for row in coverage],
        "comparability": comparability,
        "network_aggregates": [aggregate_json(aggregate) for aggregate in aggregates],
        "assessments": list(assessments),
    }


def published_at_json(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
