from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from shared.contracts.themes import Theme
from shared.i18n import Languages

if TYPE_CHECKING:
    from services.dialogue_api.assessments.service import AssessmentGaps, Gap
    from services.dialogue_api.recommendations.models import Evidence, Recommendation


class GapRecommendation(BaseModel):
    """A recommendation whose evidence cites the gap's indicator for the city."""

    id: int
    event: int = Field(description="The event it comes from.")
    theme: Theme
    text: str
    language: str = Field(description="The language of `text`.")
    status: str = Field(
        description="The recommendation's status (`proposed`, `adopted`, `in_progress`, "
        "`implemented`, `dropped`).",
        examples=["adopted"],
    )
    role: str = Field(
        examples=["motivates"],
        description="`motivates`: the gap is why it is recommended; `measures`: the "
        "indicator shows whether it worked.",
    )

    @classmethod
    def of(cls, link: Evidence, recommendation: Recommendation, languages: Languages) -> Self:
        text, language = languages.pick(recommendation.text)
        return cls(
            id=recommendation.id,
            event=recommendation.event_id,
            theme=Theme(recommendation.theme),
            text=text or "",
            language=language or "en",
            status=str(recommendation.status),
            role=str(link.role),
        )


class GapRead(BaseModel):
    indicator: str = Field(examples=["rig_services"])
    area: str | None = Field(examples=["migrants_rights"])
    title: str = Field(description="The indicator's title in the caller's language.")
    titles: dict[str, str]
    score: float = Field(description="0-100, below the threshold.", examples=[25.0])
    completeness: float = Field(description="Questions answered / questions.")
    recommendations: list[GapRecommendation] = Field(
        description="The recommendations (the caller may see) whose evidence cites this "
        "indicator of the city; empty when none addresses the gap yet."
    )

    @classmethod
    def of(cls, gap: Gap, languages: Languages) -> Self:
        title, _ = languages.pick(gap.indicator.titles)
        return cls(
            indicator=gap.indicator.code,
            area=gap.indicator.area_code,
            title=title or gap.indicator.code,
            titles=gap.indicator.titles,
            score=gap.indicator.score if gap.indicator.score is not None else 0.0,
            completeness=gap.indicator.completeness,
            recommendations=[
                GapRecommendation.of(link, recommendation, languages)
                for link, recommendation in gap.citations
            ],
        )


class AssessmentGapsRead(BaseModel):
    assessment_id: int = Field(description="Profiles' id of the published assessment.")
    framework: str = Field(examples=["mgi_local"])
    framework_version: str = Field(examples=["1.0"])
    framework_title: str = Field(description="In the caller's language.")
    rankable: bool = Field(
        description="Whether the framework's scores may be compared across cities; gaps are "
        "the city's own, never a rank."
    )
    reference_date: date
    published_at: datetime
    overall_score: float | None
    gaps: list[GapRead] = Field(description="Lowest score first.")

    @classmethod
    def of(cls, found: AssessmentGaps, languages: Languages) -> Self:
        assessment = found.assessment
        title, _ = languages.pick(assessment.framework_titles)
        return cls(
            assessment_id=assessment.assessment_id,
            framework=assessment.framework_code,
            framework_version=assessment.framework_version,
            framework_title=title or assessment.framework_code,
            rankable=assessment.rankable,
            reference_date=assessment.reference_date,
            published_at=assessment.published_at,
            overall_score=assessment.overall_score,
            gaps=[GapRead.of(gap, languages) for gap in found.gaps],
        )


class CityAssessmentGaps(BaseModel):
    city: str = Field(examples=["PTLIS"])
    threshold: float = Field(examples=[50])
    assessments: list[AssessmentGapsRead] = Field(
        description="The city's latest published assessment of each framework, by framework "
        "code; empty when the city has none."
    )
