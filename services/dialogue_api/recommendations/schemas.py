from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, Field

from shared.contracts.cities import CityCode
from shared.contracts.indicators import IndicatorCode
from shared.contracts.themes import Theme
from shared.i18n import LangMap, LangMapEn, Languages
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
    from services.dialogue_api.indicators.models import IndicatorRef
    from services.dialogue_api.indicators.profiles import Figure
    from services.dialogue_api.recommendations.figures import EvidenceFigures
    from services.dialogue_api.recommendations.models import (
        Evidence,
        Recommendation,
        RecommendationStatusChange,
    )


class GovernanceLevel(enum.StrEnum):
    local = "local"
    national = "national"
    international = "international"


class RecommendationStatus(enum.StrEnum):
    proposed = "proposed"
    adopted = "adopted"
    in_progress = "in_progress"
    implemented = "implemented"
    dropped = "dropped"


#: Where each status may go next. A dropped recommendation may be reopened (proposed again);
#: an implemented one is history.
TRANSITIONS: dict[RecommendationStatus, frozenset[RecommendationStatus]] = {
    RecommendationStatus.proposed: frozenset(
        {RecommendationStatus.adopted, RecommendationStatus.dropped}
    ),
    RecommendationStatus.adopted: frozenset(
        {RecommendationStatus.in_progress, RecommendationStatus.dropped}
    ),
    RecommendationStatus.in_progress: frozenset(
        {RecommendationStatus.implemented, RecommendationStatus.dropped}
    ),
    RecommendationStatus.dropped: frozenset({RecommendationStatus.proposed}),
    RecommendationStatus.implemented: frozenset(),
}

#: The statuses a recommendation may be created with.
INITIAL_STATUSES = frozenset({RecommendationStatus.proposed, RecommendationStatus.adopted})


class EvidenceRole(enum.StrEnum):
    motivates = "motivates"
    measures = "measures"


TargetCities = Annotated[
    list[CityCode],
    Field(
        max_length=100,
        description="The cities the recommendation is addressed to, each once.",
        examples=[["TNTUN", "JOAMM"]],
    ),
]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
Text = Field(
    description="What is recommended, by language (English required).",
    examples=[{"en": "Keep a shared count of newcomers across municipal services."}],
)
StatusNote = Field(
    default=None,
    description="Why the status is what it is; kept in the status history.",
    examples=["Adopted by the city council on 12 May."],
)


class EvidenceKind(enum.StrEnum):
    """What an evidence link cites: an indicator of profiles' catalogue (figures), or an
    indicator of a governance assessment framework (the city's published score)."""

    indicator = "indicator"
    assessment = "assessment"


class AssessmentIndicatorCitation(InputModel):
    framework: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The assessment framework's code.",
        examples=["mgi_local"],
    )
    indicator: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="The framework's indicator code.",
        examples=["rig_services"],
    )


class EvidenceCreate(InputModel):
    """Evidence cites either a catalogue indicator of the city (`indicator`) or an indicator
    of a governance assessment of the city (`assessment`), exactly one of them."""

    city: CityCode
    indicator: IndicatorCode | None = Field(
        default=None,
        description="A catalogue indicator's code (profiles' indicators); or give `assessment`.",
    )
    assessment: AssessmentIndicatorCitation | None = Field(
        default=None,
        description="An indicator of a governance assessment framework: a published assessment "
        "of `city` in that framework must have it (422 naming `assessment.indicator` "
        "otherwise); or give `indicator`.",
    )
    role: EvidenceRole = Field(
        description="`motivates`: the indicator shows why the recommendation is needed; "
        "`measures`: it shows whether the recommendation worked."
    )
    note: Note | None = None


class RecommendationCreate(InputModel):
    event: int = Field(ge=1, le=2**63 - 1, description="The event it comes from.")
    theme: Theme
    text: LangMapEn = Text
    target_cities: TargetCities = Field(default_factory=list)
    governance_level: GovernanceLevel
    status: RecommendationStatus = Field(
        default=RecommendationStatus.proposed, description="`proposed` or `adopted`."
    )
    status_note: Note | None = StatusNote
    evidence: list[EvidenceCreate] = Field(default_factory=list, max_length=100)


class RecommendationUpdate(PatchModel):
    """Fields to change; omitted fields stay. Status moves proposed → adopted → in_progress →
    implemented, any of them but implemented may be dropped, and a dropped one reopened."""

    nullable = frozenset({"status_note"})

    theme: Theme | None = None
    text: LangMapEn | None = None
    target_cities: TargetCities | None = None
    governance_level: GovernanceLevel | None = None
    status: RecommendationStatus | None = None
    status_note: Note | None = Field(
        default=None, description="With a change of status: why; kept in the status history."
    )


class FigureRead(BaseModel):
    """A figure of profiles: the preferred total (no breakdown) of the city's indicator for
    one period."""

    period: str = Field(examples=["2022"])
    period_start: date
    period_end: date
    scope: str = Field(examples=["municipality"])
    value: float = Field(examples=[135753])
    obs_status: str = Field(description="SDMX observation status.", examples=["A"])

    @classmethod
    def of(cls, figure: Figure | None) -> Self | None:
        if figure is None or figure.value is None:
            return None
        return cls(
            period=figure.period,
            period_start=figure.period_start,
            period_end=figure.period_end,
            scope=figure.scope,
            value=figure.value,
            obs_status=figure.obs_status,
        )


class AssessmentIndicatorRead(BaseModel):
    """The assessment indicator an evidence link cites, as the city's latest published
    assessment in that framework scores it."""

    framework: str = Field(examples=["mgi_local"])
    indicator: str = Field(examples=["rig_services"])
    titles: dict[str, str] | None = Field(
        description="The indicator's titles by language; null if no published assessment "
        "has it any longer."
    )
    assessment_id: int | None = Field(description="Profiles' id of that assessment.")
    framework_version: str | None
    reference_date: date | None
    score: float | None = Field(description="0-100; null when there is none.")
    completeness: float | None = Field(description="Questions answered / questions.")

    @classmethod
    def of(
        cls,
        evidence: Evidence,
        found: tuple[AssessmentRef, AssessmentIndicatorRef] | None,
    ) -> Self:
        assessment, indicator = found if found else (None, None)
        return cls(
            framework=evidence.framework_code,
            indicator=evidence.indicator_code,
            titles=indicator.titles if indicator else None,
            assessment_id=assessment.assessment_id if assessment else None,
            framework_version=assessment.framework_version if assessment else None,
            reference_date=assessment.reference_date if assessment else None,
            score=indicator.score if indicator else None,
            completeness=indicator.completeness if indicator else None,
        )


class EvidenceRead(BaseModel):
    id: int
    city: str
    kind: EvidenceKind = Field(
        default=EvidenceKind.indicator,
        description="`indicator`: a catalogue indicator (`indicator`, figures); `assessment`: "
        "an assessment framework's indicator (`assessment`).",
    )
    indicator: str | None = Field(
        description="The catalogue indicator's code; null for `assessment` evidence."
    )
    assessment: AssessmentIndicatorRead | None = Field(
        default=None, description="`assessment` evidence: the cited indicator and its score."
    )
    indicator_names: dict[str, str] | None = Field(
        description="The indicator's names by language, as profiles' catalogue has them; null "
        "if the dialogue does not know the indicator.",
        examples=[{"en": "Foreign nationals", "fr": "Ressortissants étrangers"}],
    )
    indicator_unit: str | None = Field(
        description="The unit of the indicator's values.", examples=["persons"]
    )
    role: EvidenceRole
    note: str | None
    baseline: FigureRead | None = Field(
        default=None,
        description="`measures` evidence: the city's latest figure up to the recommendation's "
        "date (the day it was recorded), read from profiles when the recommendation is read.",
    )
    latest: FigureRead | None = Field(
        default=None,
        description="`measures` evidence: the city's most recent figure, the progress since "
        "the baseline (of the same scope).",
    )
    figures_note: str | None = Field(
        default=None,
        description="`measures` evidence: why `baseline` or `latest` is null (profiles could "
        "not be read in time, or has no figure).",
    )
    created_at: datetime

    @classmethod
    def of(
        cls,
        evidence: Evidence,
        indicator: IndicatorRef | None = None,
        figures: EvidenceFigures | None = None,
        assessment: tuple[AssessmentRef, AssessmentIndicatorRef] | None = None,
    ) -> Self:
        """The evidence link as the API shows it, with the indicator's names and, for
        ``measures`` links, the city's figures; for an assessment indicator, its score."""
        if evidence.framework_code:
            return cls(
                id=evidence.id,
                city=evidence.city_code,
                kind=EvidenceKind.assessment,
                indicator=None,
                assessment=AssessmentIndicatorRead.of(evidence, assessment),
                indicator_names=None,
                indicator_unit=None,
                role=EvidenceRole(evidence.role),
                note=evidence.note,
                created_at=evidence.created_at,
            )
        return cls(
            id=evidence.id,
            city=evidence.city_code,
            indicator=evidence.indicator_code,
            indicator_names=indicator.names if indicator else None,
            indicator_unit=indicator.unit if indicator else None,
            role=EvidenceRole(evidence.role),
            note=evidence.note,
            baseline=FigureRead.of(figures.baseline) if figures else None,
            latest=FigureRead.of(figures.latest) if figures else None,
            figures_note=figures.note if figures else None,
            created_at=evidence.created_at,
        )


class RecommendationRead(BaseModel):
    id: int
    event: int = Field(description="The event it comes from.")
    theme: Theme
    text: str
    language: str = Field(description="The language of `text`.")
    texts: LangMap
    target_cities: list[str]
    governance_level: GovernanceLevel
    status: RecommendationStatus
    evidence: list[EvidenceRead]
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        recommendation: Recommendation,
        evidence: Sequence[Evidence],
        languages: Languages,
        *,
        indicators: Mapping[str, IndicatorRef] | None = None,
        figures: Mapping[int, EvidenceFigures] | None = None,
        assessments: Mapping[tuple[str, str, str], tuple[AssessmentRef, AssessmentIndicatorRef]]
        | None = None,
    ) -> Self:
        """The recommendation in the caller's language, with its evidence (their indicators'
        names, figures by evidence id, and cited assessment indicators by city, framework
        and indicator code)."""
        indicators, figures, assessments = indicators or {}, figures or {}, assessments or {}
        text, language = languages.pick(recommendation.text)
        return cls(
            id=recommendation.id,
            event=recommendation.event_id,
            theme=Theme(recommendation.theme),
            text=text or "",
            language=language or "en",
            texts=recommendation.text,
            target_cities=recommendation.target_cities,
            governance_level=GovernanceLevel(recommendation.governance_level),
            status=RecommendationStatus(recommendation.status),
            evidence=[
                EvidenceRead.of(
                    link,
                    indicators.get(link.indicator_code),
                    figures.get(link.id),
                    assessments.get((link.city_code, link.framework_code, link.indicator_code)),
                )
                for link in evidence
            ],
            version=recommendation.version,
            created_at=recommendation.created_at,
            updated_at=recommendation.updated_at,
        )


class StatusChangeRead(BaseModel):
    id: int
    old_status: RecommendationStatus | None = Field(description="Null for the creation.")
    status: RecommendationStatus
    changed_at: datetime
    changed_by: str | None = Field(
        description="The token subject who made the change; null for anonymous callers."
    )
    note: str | None

    @classmethod
    def of(cls, change: RecommendationStatusChange, *, show_author: bool) -> Self:
        """One step of the history; who made it only for token holders."""
        return cls(
            id=change.id,
            old_status=RecommendationStatus(change.old_status) if change.old_status else None,
            status=RecommendationStatus(change.status),
            changed_at=change.changed_at,
            changed_by=change.changed_by if show_author else None,
            note=change.note,
        )
