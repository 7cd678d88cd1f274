"""The document a report is rendered from: plain data, in every language it has.

The live preview builds it from the database as the caller may see it (``service``); an
edition's frozen snapshot can be read into the same model, so one renderer serves both. Texts
keep their language maps: the renderer picks the reader's language and notes a fallback.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.fields import ObsStatus, ValueStatus


class DocumentSource(BaseModel):
    id: int
    title: str
    publisher: str | None = None
    url: str | None = None
    kind: str
    accessed_on: date | None = None


class DocumentIndicator(BaseModel):
    code: str
    names: dict[str, str]
    theme: str
    unit: Unit
    population_concept: str | None = None


class DocumentValue(BaseModel):
    """One preferred figure as the reader may see it: a suppressed one has no value."""

    indicator: str
    period: str
    period_start: date
    scope: str
    breakdown: dict[str, str] = Field(default_factory=dict, description="Empty: the total.")
    value: float | None
    value_low: float | None = None
    value_high: float | None = None
    obs_status: ObsStatus = ObsStatus.A
    status: ValueStatus = ValueStatus.shown
    note: str | None = None
    source: int = Field(description="The id of its source in `sources`.")


class DocumentSection(BaseModel):
    code: str
    titles: dict[str, str]
    narratives: dict[str, str]


class DocumentChallenge(BaseModel):
    theme: str
    need_type: str
    descriptions: dict[str, str]
    priority: str


class DocumentCoverage(BaseModel):
    theme: str
    indicators: int
    with_data: int
    recent: int


class DocumentScore(BaseModel):
    """One score of an assessment (``overall``, an area's or an indicator's): ``None`` with
    its ``reason`` (``insufficient_data``, ``not_applicable``) when there is none."""

    level: str
    code: str
    parent: str | None = None
    titles: dict[str, str] = Field(default_factory=dict)
    score: float | None
    reason: str | None = None
    answered: int
    unknown: int
    not_applicable: int
    total: int


class DocumentAssessment(BaseModel):
    """A published governance assessment: its framework version and its scores."""

    framework: str = Field(description="The framework's code.")
    version: str
    titles: dict[str, str]
    model: str = Field(description="What the framework is modelled on (its credit line).")
    rankable: bool
    reference_date: date
    scores: list[DocumentScore] = Field(description="Overall, then each area and its indicators.")


class DocumentCity(BaseModel):
    code: str
    names: dict[str, str]
    country: str


class ReportDocument(BaseModel):
    """A city's profile as a report shows it (a live preview or, later, an edition)."""

    city: DocumentCity
    generated_at: datetime
    indicators: list[DocumentIndicator]
    figures: list[DocumentValue] = Field(description="The latest total of each indicator.")
    series: list[DocumentValue] = Field(description="Every preferred value, for the charts.")
    sources: list[DocumentSource]
    sections: list[DocumentSection] = Field(description="Published sections.")
    challenges: list[DocumentChallenge]
    coverage: list[DocumentCoverage]
    assessments: list[DocumentAssessment] = Field(
        default_factory=list, description="The city's published governance assessments."
    )
    edition: str | None = Field(default=None, description="The edition id; none in a preview.")
    content_hash: str | None = Field(
        default=None, description="The edition's SHA-256 content hash; none in a preview."
    )
    citation: str | None = Field(
        default=None, description="The edition's citation line, for the cover; none in a preview."
    )
