"""The dialogue's read model of profiles' published assessments, kept from
``assessment.published`` events, never by a call: per assessment its city, framework version
and reference date, and per indicator of the framework its titles and score."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.distribution import REFERENCE, distribution


class AssessmentRef(Base):
    """A city's published assessment, as profiles announced it (published is final)."""

    __tablename__ = "assessment_ref"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # a read model of profiles' assessments
    __table_args__ = (
        Index("ix_assessment_ref_city", "city_code", "framework_code", "reference_date"),
        distribution(REFERENCE),
    )

    #: Profiles' id of the assessment.
    assessment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    city_code: Mapped[str] = mapped_column(String(5))
    framework_code: Mapped[str] = mapped_column(String(48))
    framework_version: Mapped[str] = mapped_column(String(16))
    framework_titles: Mapped[dict[str, str]] = mapped_column(JSONB)
    rankable: Mapped[bool] = mapped_column(Boolean)
    reference_date: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    overall_score: Mapped[float | None] = mapped_column(Float)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AssessmentIndicatorRef(Base):
    """An indicator of a published assessment's framework version, with its score there."""

    __tablename__ = "assessment_indicator_ref"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # a read model of profiles' assessments
    __table_args__ = (distribution(REFERENCE),)

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_ref.assessment_id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    area_code: Mapped[str | None] = mapped_column(String(48))
    #: The indicator's place in the framework version, as the event listed them.
    position: Mapped[int] = mapped_column(SmallInteger)
    titles: Mapped[dict[str, str]] = mapped_column(JSONB)
    #: 0-100, or null with ``reason`` (``insufficient_data``, ``not_applicable``).
    score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(32))
    completeness: Mapped[float] = mapped_column(Float)
