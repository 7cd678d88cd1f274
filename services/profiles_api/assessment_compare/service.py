"""Cities' published assessments of one framework compared, and charted.

The rules (docs/decisions.md, "Comparing assessments"):

- Only published assessments are compared: each city's latest (by reference date), or its
  latest as of ``reference_date``, of ``version`` when given. Every published assessment of
  the city of that framework is listed in its ``series``, latest first.
- One framework version: the assessments' own scores are compared. Several versions: every
  compared assessment is scored again over the questions the versions share
  (``common.py``), by the newest version's rules, with a ``version_mismatch`` warning naming
  the versions, the questions left out and the areas they touch.
- A framework that is not rankable (or any version compared that is not) gives no rank and
  keeps the cities in the order asked. A rankable one ranks by overall score (ties share a
  rank, 1, 2, 2, 4) and sorts by rank, cities without a score last.
- The network's median per area is over the compared cities' scores, with its n.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessment_compare import charts
from services.profiles_api.assessment_compare.common import (
    GivenAnswer,
    Rescored,
    common_questions,
    rescore,
)
from services.profiles_api.assessment_compare.repository import (
    AssessmentKey,
    ComparisonRepository,
)
from services.profiles_api.assessment_compare.schemas import (
    AreaMedian,
    AssessmentComparison,
    Basis,
    ComparedAssessment,
    ComparedCity,
    ComparedScore,
    CompareWarning,
    FrameworkBrief,
    SeriesEntry,
    WarningKind,
)
from services.profiles_api.assessments.models import Assessment, Score
from services.profiles_api.assessments.service import get_assessment
from services.profiles_api.frameworks.document import FrameworkDocument
from services.profiles_api.frameworks.models import Framework
from shared.auth import Principal
from shared.errors import invalid
from shared.i18n import Languages

#: The most cities one comparison takes.
MAX_COMPARED = 50


def version_key(version: str) -> tuple[int, ...]:
    """``1.10`` after ``1.9``."""
    return tuple(int(part) for part in version.split("."))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _score(
    level: str, code: str, score: float | None, reason: str | None, answered: int, total: int
) -> ComparedScore:
    return ComparedScore(
        level=level,
        code=code,
        score=_rounded(score),
        reason=reason,
        answered=answered,
        total=total,
        completeness=round(answered / total, 4) if total else 0.0,
    )


def _from_stored(score: Score) -> ComparedScore:
    return _score(score.level, score.code, score.score, score.reason, score.answered, score.total)


def _from_rescored(score: Rescored) -> ComparedScore:
    return _score(score.level, score.code, score.score, score.reason, score.answered, score.total)


def median_of(code: str, titles: dict[str, str], scores: Sequence[float | None]) -> AreaMedian:
    """The median of the scores there are, and how many there are."""
    present = [score for score in scores if score is not None]
    median = _rounded(statistics.median(present)) if present else None
    return AreaMedian(area=code, titles=titles, median=median, n=len(present))


def competition_ranks(scores: dict[str, float | None]) -> dict[str, int]:
    """1 for the highest score; equal scores share a rank and the next rank skips (1, 2, 2,
    4). Cities without a score have no rank."""
    present = {city: score for city, score in scores.items() if score is not None}
    return {
        city: 1 + sum(1 for other in present.values() if other > score)
        for city, score in present.items()
    }


async def compare(
    session: AsyncSession,
    *,
    framework: str,
    cities: Sequence[str],
    version: str | None,
    reference_date: date | None,
    languages: Languages,
) -> AssessmentComparison:
    """The cities' published assessments of ``framework`` compared (see the module's rules);
    422 naming the query parameter for an unknown framework, version or city."""
    repository = ComparisonRepository.from_session(session)
    versions = await repository.versions(framework)
    if not versions:
        raise invalid("framework", f"no framework {framework!r} is published", location="query")
    by_version = {f.version: f for f in versions}
    if version is not None and version not in by_version:
        listed = ", ".join(sorted(by_version, key=version_key))
        raise invalid(
            "version",
            f"{framework} has no version {version!r} (published: {listed})",
            location="query",
        )
    if not cities or len(cities) > MAX_COMPARED:
        raise invalid("cities", f"name 1 to {MAX_COMPARED} cities", location="query")
    known = await repository.cities(cities)
    unknown = [city for city in cities if city not in known]
    if unknown:
        raise invalid("cities", f"unknown cities: {', '.join(unknown)}", location="query")

    series: dict[str, list[tuple[Assessment, Framework]]] = {city: [] for city in cities}
    for assessment, assessed in await repository.published(framework, cities):
        series[assessment.city_code].append((assessment, assessed))
    chosen: dict[str, tuple[Assessment, Framework]] = {}
    for city, published in series.items():
        for assessment, assessed in published:
            if version is not None and assessed.version != version:
                continue
            if reference_date is not None and assessment.reference_date > reference_date:
                continue
            chosen[city] = (assessment, assessed)
            break

    compared = {assessed.id: assessed for _, assessed in chosen.values()}
    newest = (
        by_version[version]
        if version is not None
        else max(versions, key=lambda f: version_key(f.version))
    )
    reference = max(compared.values(), key=lambda f: version_key(f.version), default=newest)
    document = FrameworkDocument.model_validate(reference.document)
    rankable = all(f.rankable for f in compared.values()) if compared else reference.rankable
    keys: list[AssessmentKey] = [(city, a.id) for city, (a, _) in chosen.items()]
    every_key = [(a.city_code, a.id) for published in series.values() for a, _ in published]
    stored = await repository.scores(every_key)
    warnings: list[CompareWarning] = []

    compared_scores: dict[str, dict[str, ComparedScore]] = {}
    if len(compared) <= 1:
        basis = Basis.published
        for city, key in zip(chosen, keys, strict=True):
            compared_scores[city] = {s.code: _from_stored(s) for s in stored[key]}
    else:
        basis = Basis.common_questions
        documents = {f.id: FrameworkDocument.model_validate(f.document) for f in compared.values()}
        common = common_questions(list(documents.values()))
        answers = await repository.answers(keys)
        for city, key in zip(chosen, keys, strict=True):
            given = {
                a.question_code: GivenAnswer(state=str(a.state), value=a.value)
                for a in answers[key]
            }
            compared_scores[city] = {
                s.code: _from_rescored(s)
                for s in rescore(document, common, given)
                if s.level in ("overall", "area")
            }
        warnings.append(_version_warning(chosen, documents, common, document))

    missing = [city for city in cities if city not in chosen]
    if missing:
        which = f"{framework} {version}" if version else framework
        as_of = f" as of {reference_date.isoformat()}" if reference_date else ""
        warnings.append(
            CompareWarning(
                kind=WarningKind.missing,
                detail=f"No published assessment of {which}{as_of}: {', '.join(missing)}.",
                cities=missing,
            )
        )
    overall = {city: _overall(compared_scores.get(city)) for city in cities}
    without = [city for city in chosen if overall[city] is None]
    if without:
        warnings.append(
            CompareWarning(
                kind=WarningKind.no_overall_score,
                detail="No overall score (too few answers, or none applies)"
                + (", so no rank" if rankable else "")
                + f": {', '.join(without)}.",
                cities=without,
            )
        )
    ranks = competition_ranks(overall) if rankable else {}

    def series_entry(assessment: Assessment, assessed: Framework) -> SeriesEntry:
        own = next(
            (
                s.score
                for s in stored[(assessment.city_code, assessment.id)]
                if s.level == "overall"
            ),
            None,
        )
        picked = chosen.get(assessment.city_code)
        return SeriesEntry(
            id=assessment.id,
            version=assessed.version,
            reference_date=assessment.reference_date,
            overall=_rounded(own),
            compared=picked is not None and picked[0].id == assessment.id,
        )

    rows: list[ComparedCity] = []
    for city in cities:
        scores = compared_scores.get(city, {})
        picked = chosen.get(city)
        rows.append(
            ComparedCity(
                city=city,
                city_name=languages.pick(known[city].names)[0] or city,
                rank=ranks.get(city),
                assessment=None
                if picked is None
                else ComparedAssessment(
                    id=picked[0].id,
                    version=picked[1].version,
                    reference_date=picked[0].reference_date,
                    url=f"/v1/cities/{city}/assessments/{picked[0].id}",
                ),
                overall=scores.get(""),
                areas=[scores[area.code] for area in document.areas if area.code in scores],
                series=[series_entry(a, f) for a, f in series[city]],
            )
        )
    if rankable:
        # Stable: ties, then cities without a rank, stay in the order asked.
        rows.sort(key=lambda row: (row.rank is None, row.rank or 0))

    def area_score(city: str, code: str) -> float | None:
        found = compared_scores.get(city, {}).get(code)
        return None if found is None else found.score

    return AssessmentComparison(
        framework=FrameworkBrief(code=framework, titles=reference.titles, rankable=rankable),
        versions=sorted({f.version for f in compared.values()}, key=version_key),
        basis=basis,
        reference_date=reference_date,
        ranked=rankable,
        cities=rows,
        overall_median=median_of("", reference.titles, [area_score(c, "") for c in chosen]),
        medians=[
            median_of(area.code, dict(area.titles), [area_score(c, area.code) for c in chosen])
            for area in document.areas
        ],
        warnings=warnings,
    )


def _overall(scores: dict[str, ComparedScore] | None) -> float | None:
    found = (scores or {}).get("")
    return None if found is None else found.score


def _version_warning(
    chosen: dict[str, tuple[Assessment, Framework]],
    documents: dict[int, FrameworkDocument],
    common: set[str],
    reference: FrameworkDocument,
) -> CompareWarning:
    """Which versions were compared, by which cities, and what was left out."""
    cities_of: dict[str, list[str]] = {}
    for city, (_, assessed) in chosen.items():
        cities_of.setdefault(assessed.version, []).append(city)
    values = {v: cities_of[v] for v in sorted(cities_of, key=version_key)}
    every = {q.code for d in documents.values() for _, _, q in d.questions()}
    left_out = sorted(every - common)
    areas = [
        area.code
        for area in reference.areas
        if any(q.code not in common for indicator in area.indicators for q in indicator.questions)
    ]
    return CompareWarning(
        kind=WarningKind.version_mismatch,
        detail=f"The assessments are of different versions ({', '.join(values)}): every score "
        f"is recomputed over the {len(common)} questions the versions share, by version "
        f"{max(values, key=version_key)}'s rules and weights; {len(left_out)} questions are "
        f"left out" + (f" (areas {', '.join(areas)})." if areas else "."),
        cities=list(chosen),
        values=values,
        questions=left_out,
        areas=areas,
    )


async def compare_chart_spec(
    session: AsyncSession,
    *,
    framework: str,
    cities: Sequence[str],
    version: str | None,
    reference_date: date | None,
    language: str,
) -> dict[str, Any]:
    """The comparison as a Vega-Lite bar chart per area, in ``language``."""
    comparison = await compare(
        session,
        framework=framework,
        cities=cities,
        version=version,
        reference_date=reference_date,
        languages=Languages((language, "en")),
    )
    return charts.compare_chart(comparison, language)


async def assessment_chart_spec(
    session: AsyncSession,
    principal: Principal | None,
    city: str,
    assessment_id: int,
    language: str,
) -> dict[str, Any]:
    """One assessment's area scores against the median of the network's published
    assessments of the same framework version (each city's latest), in ``language``."""
    assessment, framework = await get_assessment(session, principal, city, assessment_id)
    repository = ComparisonRepository.from_session(session)
    network = await repository.latest_published_of_version(framework.id)
    keys: list[AssessmentKey] = [(a.city_code, a.id) for a in network]
    own_key = (city, assessment_id)
    stored = await repository.scores([*keys, own_key] if own_key not in keys else keys)
    document = FrameworkDocument.model_validate(framework.document)
    own = {s.code: _from_stored(s) for s in stored[own_key]}

    def score_of(key: AssessmentKey, code: str) -> float | None:
        return next((_rounded(s.score) for s in stored[key] if s.code == code), None)

    medians = [
        median_of(area.code, dict(area.titles), [score_of(key, area.code) for key in keys])
        for area in document.areas
    ]
    names = (await repository.cities([city]))[city].names
    return charts.assessment_chart(
        city=city,
        city_names=names,
        assessment=assessment,
        framework=framework,
        document=document,
        scores=own,
        medians=medians,
        language=language,
    )
