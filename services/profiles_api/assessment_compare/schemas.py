"""What comparing assessments answers: each city's compared assessment and its series, the
network's medians with their n, and the warnings that say what is not comparable."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, Field


class Basis(enum.StrEnum):
    """What the compared scores are."""

    published = "published"  # the assessments' own scores, all of one framework version
    common_questions = "common_questions"  # recomputed over the questions the versions share


class WarningKind(enum.StrEnum):
    version_mismatch = "version_mismatch"
    missing = "missing"
    no_overall_score = "no_overall_score"


class CompareWarning(BaseModel):
    kind: WarningKind
    detail: str = Field(description="The warning in English.")
    cities: list[str] = Field(description="The cities the warning is about.")
    values: dict[str, list[str]] = Field(
        default_factory=dict,
        description="For `version_mismatch`: each framework version compared, with the cities "
        "whose assessment is of it.",
    )
    questions: list[str] = Field(
        default_factory=list,
        description="For `version_mismatch`: the questions left out (not the same in every "
        "version compared: absent, moved, or with other options or values).",
    )
    areas: list[str] = Field(
        default_factory=list,
        description="For `version_mismatch`: the areas whose scores rest on fewer questions "
        "than the versions have (some of theirs were left out).",
    )


class ComparedScore(BaseModel):
    level: str = Field(description="`overall` or `area`.")
    code: str = Field(description="The area's code; empty for `overall`.")
    score: float | None = Field(description="0-100; null when there is none (see `reason`).")
    reason: str | None = Field(description="`insufficient_data` or `not_applicable`.")
    answered: int
    total: int
    completeness: float = Field(description="answered / total.")


class SeriesEntry(BaseModel):
    """One published assessment of the city, of any version of the framework."""

    id: int
    version: str
    reference_date: date
    overall: float | None = Field(description="Its own published overall score.")
    compared: bool = Field(description="Whether it is the one compared.")


class ComparedAssessment(BaseModel):
    id: int
    version: str
    reference_date: date
    url: str


class ComparedCity(BaseModel):
    city: str
    city_name: str
    rank: int | None = Field(
        description="By overall score, 1 the highest; ties share a rank (1, 2, 2, 4). Null "
        "when the framework is not rankable, or the city has no overall score."
    )
    assessment: ComparedAssessment | None = Field(
        description="The assessment compared: the latest published one (as of "
        "`reference_date` when given); null when the city has none."
    )
    overall: ComparedScore | None
    areas: list[ComparedScore]
    series: list[SeriesEntry] = Field(
        description="Every published assessment of the city of this framework, latest first."
    )


class AreaMedian(BaseModel):
    area: str
    titles: dict[str, str]
    median: float | None = Field(
        description="The median of the compared cities' scores of the area (null if none)."
    )
    n: int = Field(description="How many cities' scores the median is over.")


class FrameworkBrief(BaseModel):
    code: str
    titles: dict[str, str]
    rankable: bool = Field(
        description="Whether every version compared may be ranked. If not: no rank, and the "
        "cities in the order they were asked for."
    )


class AssessmentComparison(BaseModel):
    framework: FrameworkBrief
    versions: list[str] = Field(description="The framework versions of the compared assessments.")
    basis: Basis = Field(
        description="`published`: the assessments' own scores (one version). "
        "`common_questions`: versions differ, every score recomputed over the questions they "
        "share, by the newest version's rules and weights."
    )
    reference_date: date | None
    ranked: bool = Field(description="Whether `cities` is sorted by rank.")
    cities: list[ComparedCity] = Field(
        description="Ranked: by rank, ties and cities without a score in the order asked. "
        "Otherwise in the order asked."
    )
    overall_median: AreaMedian = Field(description="The median of the overall scores.")
    medians: list[AreaMedian] = Field(description="Per area, in the framework's order.")
    warnings: list[CompareWarning]
