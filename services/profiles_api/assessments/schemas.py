"""The assessments API's words: states, workflow, inputs and what it answers."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, Field

from shared.schemas import InputModel
from shared.text import SINGLE_LINE

if TYPE_CHECKING:
    from services.profiles_api.assessments.models import Answer, Assessment, AssessmentChange, Score
    from services.profiles_api.frameworks.models import Framework


class AssessmentStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    validated = "validated"
    published = "published"


#: The workflow: which status may follow which. Back to draft (with a comment) from review;
#: a published assessment is final (a later stock-taking is a new assessment).
TRANSITIONS: dict[AssessmentStatus, frozenset[AssessmentStatus]] = {
    AssessmentStatus.draft: frozenset({AssessmentStatus.submitted}),
    AssessmentStatus.submitted: frozenset({AssessmentStatus.validated, AssessmentStatus.draft}),
    AssessmentStatus.validated: frozenset({AssessmentStatus.published, AssessmentStatus.draft}),
    AssessmentStatus.published: frozenset(),
}


class AnswerState(enum.StrEnum):
    """An option was chosen (a "no" is an option scoring 0); the question does not apply to
    the city (left out, weights rescaled); or the answer is not known (left out, rescaled,
    and counted as unknown beside the score)."""

    option = "option"
    not_applicable = "not_applicable"
    unknown = "unknown"


class EvidenceKind(enum.StrEnum):
    source = "source"  # a source of the catalogue, by id
    observation = "observation"  # one of the city's figures, by id
    section = "section"  # one of the city's profile sections, by code
    url = "url"  # a document on the web


Comment = Annotated[str, Field(min_length=1, max_length=4000)]


class Evidence(InputModel):
    kind: EvidenceKind
    ref: Annotated[str, Field(min_length=1, max_length=2000), SINGLE_LINE] = Field(
        description="The source's or observation's id, the section's code, or the URL.",
        examples=["42"],
    )


class AssessmentCreate(InputModel):
    framework: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$", examples=["mipex_city"])]
    version: Annotated[
        str, Field(pattern=r"^[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,4})?$", examples=["1.0"])
    ]
    reference_date: date = Field(
        description="The date the answers describe the city's policies as of."
    )


class AnswerWrite(InputModel):
    state: AnswerState = AnswerState.option
    option: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")] | None = Field(
        default=None, description="The option chosen; required when `state` is `option`."
    )
    comment: Comment | None = None
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


class AssessmentTransition(InputModel):
    status: AssessmentStatus
    comment: Comment | None = Field(
        default=None, description="Why; required when sending an assessment back to draft."
    )


class FrameworkRef(BaseModel):
    code: str
    version: str
    titles: dict[str, str]
    rankable: bool

    @classmethod
    def of(cls, framework: Framework) -> Self:
        return cls(
            code=framework.code,
            version=framework.version,
            titles=framework.titles,
            rankable=framework.rankable,
        )


class ScoreReason(enum.StrEnum):
    insufficient_data = "insufficient_data"
    not_applicable = "not_applicable"


class ScoreRead(BaseModel):
    level: str = Field(description="`overall`, `area` or `indicator`.")
    code: str = Field(description="The area's or indicator's code; empty for `overall`.")
    parent: str | None
    score: float | None = Field(description="0-100; null when there is none (see `reason`).")
    reason: ScoreReason | None
    answered: int = Field(description="Questions answered with an option.")
    unknown: int
    not_applicable: int
    total: int = Field(description="Questions in the group.")
    completeness: float = Field(description="answered / total.")

    @classmethod
    def of(cls, score: Score) -> Self:
        return cls(
            level=score.level,
            code=score.code,
            parent=score.parent_code,
            score=None if score.score is None else round(score.score, 4),
            reason=ScoreReason(score.reason) if score.reason else None,
            answered=score.answered,
            unknown=score.unknown,
            not_applicable=score.not_applicable,
            total=score.total,
            completeness=round(score.answered / score.total, 4) if score.total else 0.0,
        )


class AssessmentRead(BaseModel):
    id: int
    city: str
    framework: FrameworkRef
    reference_date: date
    status: AssessmentStatus
    created_by: str | None = Field(description="Who did what: shown to token holders only.")
    created_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    validated_by: str | None
    validated_at: datetime | None
    published_at: datetime | None
    version: int
    scores: list[ScoreRead] = Field(
        description="The overall score, then each area's and indicator's, in the framework's order."
    )

    @classmethod
    def of(
        cls,
        assessment: Assessment,
        framework: Framework,
        scores: list[Score],
        *,
        show_people: bool,
    ) -> Self:
        def person(subject: str | None) -> str | None:
            return subject if show_people else None

        return cls(
            id=assessment.id,
            city=assessment.city_code,
            framework=FrameworkRef.of(framework),
            reference_date=assessment.reference_date,
            status=AssessmentStatus(assessment.status),
            created_by=person(assessment.created_by),
            created_at=assessment.created_at,
            submitted_by=person(assessment.submitted_by),
            submitted_at=assessment.submitted_at,
            validated_by=person(assessment.validated_by),
            validated_at=assessment.validated_at,
            published_at=assessment.published_at,
            version=assessment.version,
            scores=[ScoreRead.of(score) for score in scores],
        )


class EvidenceRead(BaseModel):
    kind: EvidenceKind
    ref: str


class AnswerRead(BaseModel):
    question: str
    state: AnswerState
    option: str | None
    value: float | None = Field(description="The option's value when answered (0-100).")
    comment: str | None
    evidence: list[EvidenceRead]
    updated_by: str | None = Field(description="Shown to token holders only.")
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, answer: Answer, *, show_people: bool = True) -> Self:
        return cls(
            question=answer.question_code,
            state=AnswerState(answer.state),
            option=answer.option_code,
            value=answer.value,
            comment=answer.comment,
            evidence=[EvidenceRead(**item) for item in answer.evidence],
            updated_by=answer.updated_by if show_people else None,
            updated_at=answer.updated_at,
            version=answer.version,
        )


class AssessmentChangeRead(BaseModel):
    id: int
    at: datetime
    actor: str | None = Field(description="Shown to token holders only.")
    kind: str = Field(description="`status` or `answer`.")
    question: str | None
    status_from: AssessmentStatus | None
    status_to: AssessmentStatus | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    comment: str | None

    @classmethod
    def of(cls, change: AssessmentChange, *, show_people: bool) -> Self:
        return cls(
            id=change.id,
            at=change.at,
            actor=change.actor if show_people else None,
            kind=change.kind,
            question=change.question_code,
            status_from=AssessmentStatus(change.status_from) if change.status_from else None,
            status_to=AssessmentStatus(change.status_to) if change.status_to else None,
            old=change.old,
            new=change.new,
            comment=change.comment,
        )


class GapChallenge(BaseModel):
    id: int
    theme: str
    need_type: str
    priority: str
    description: dict[str, str]


class Gap(BaseModel):
    """An indicator scoring below the threshold, and the city's challenges that name it."""

    area: str
    indicator: str
    titles: dict[str, str]
    score: float
    completeness: float
    challenges: list[GapChallenge]


class Gaps(BaseModel):
    threshold: float
    framework: FrameworkRef
    items: list[Gap] = Field(description="Lowest score first.")
