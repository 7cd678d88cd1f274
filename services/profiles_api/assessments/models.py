"""A city's assessment against one framework version, its answers, its scores and its history.

All four live with the city (distributed by ``city_code``): an assessment is part of what a
city's profile says of it, read and written with it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.assessments.schemas import AnswerState, AssessmentStatus
from services.profiles_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import DISTRIBUTED, KnownById, distribution


class Assessment(KnownById, Timestamped, Versioned, Base):
    """A city's assessment: one framework version, policies as of ``reference_date``."""

    __tablename__ = "assessment"
    __audit__: ClassVar[Audited | None] = Audited(resource="assessment", city="city_code")
    __table_args__ = (
        Index("ix_assessment_city", "city_code", "framework_id", "reference_date"),
        distribution(DISTRIBUTED),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="RESTRICT"), primary_key=True
    )
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_framework.id", ondelete="RESTRICT")
    )
    #: The date the answers describe the policies as of (not when they were entered).
    reference_date: Mapped[date] = mapped_column(Date)
    status: Mapped[AssessmentStatus] = mapped_column(
        StrEnumColumn(AssessmentStatus, 16), server_default="draft"
    )
    created_by: Mapped[str] = mapped_column(String(200))
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_by: Mapped[str | None] = mapped_column(String(200))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(200))


class Answer(Timestamped, Versioned, Base):
    """The answer to one question: an option (its value kept as answered), or not
    applicable, or unknown; with a comment and evidence."""

    __tablename__ = "assessment_answer"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="assessment_answer",
        city="city_code",
        identity=("assessment_id", "question_code"),
    )
    __table_args__ = (
        ForeignKeyConstraint(
            ["assessment_id", "city_code"],
            ["assessment.id", "assessment.city_code"],
            ondelete="CASCADE",
        ),
        distribution(DISTRIBUTED),
    )

    assessment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    question_code: Mapped[str] = mapped_column(String(48), primary_key=True)
    state: Mapped[AnswerState] = mapped_column(StrEnumColumn(AnswerState, 16))
    option_code: Mapped[str | None] = mapped_column(String(48))
    value: Mapped[float | None] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    #: ``[{"kind": "source" | "observation" | "section" | "url", "ref": "…"}]``
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    updated_by: Mapped[str] = mapped_column(String(200))


class Score(Base):
    """A computed score: the overall one (``level`` ``overall``, ``code`` ``""``), an area's
    or an indicator's; ``null`` with its reason when there is none. Recomputed with every
    answer (``scoring``), never written otherwise."""

    __tablename__ = "assessment_score"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # derived from the audited answers
    __table_args__ = (
        ForeignKeyConstraint(
            ["assessment_id", "city_code"],
            ["assessment.id", "assessment.city_code"],
            ondelete="CASCADE",
        ),
        distribution(DISTRIBUTED),
    )

    assessment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    city_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(48))
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(32))
    answered: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    not_applicable: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)


class AssessmentChange(KnownById, Base):
    """One step of an assessment's history: a status change (with its comment) or an answer
    written (what it was and became)."""

    __tablename__ = "assessment_history"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # the history is itself a log
    __table_args__ = (
        ForeignKeyConstraint(
            ["assessment_id", "city_code"],
            ["assessment.id", "assessment.city_code"],
            ondelete="CASCADE",
        ),
        Index("ix_assessment_history_assessment", "city_code", "assessment_id", "id"),
        distribution(DISTRIBUTED),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    question_code: Mapped[str | None] = mapped_column(String(48))
    status_from: Mapped[str | None] = mapped_column(String(16))
    status_to: Mapped[str | None] = mapped_column(String(16))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    comment: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
