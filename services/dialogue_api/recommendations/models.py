from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.recommendations.schemas import (
    EvidenceRole,
    GovernanceLevel,
    RecommendationStatus,
)
from shared.audit import NOT_AUDITED, Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Recommendation(Timestamped, Versioned, Base):
    """What an event recommends, to which cities, at which level of government."""

    __tablename__ = "recommendation"
    __audit__: ClassVar[Audited | None] = Audited(resource="recommendation")
    __table_args__ = (
        Index("ix_recommendation_event", "event_id", "id"),
        Index("ix_recommendation_cities", "target_cities", postgresql_using="gin"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="RESTRICT"))
    theme: Mapped[str] = mapped_column(String(32))
    text: Mapped[dict[str, str]] = mapped_column(JSONB)
    target_cities: Mapped[list[str]] = mapped_column(ARRAY(String(5)), server_default="{}")
    governance_level: Mapped[GovernanceLevel] = mapped_column(StrEnumColumn(GovernanceLevel, 16))
    status: Mapped[RecommendationStatus] = mapped_column(
        StrEnumColumn(RecommendationStatus, 16), server_default="proposed"
    )


class RecommendationStatusChange(Base):
    """One dated step of a recommendation's status history (the first is its creation)."""

    __tablename__ = "recommendation_status_change"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # the status history is itself a log
    __table_args__ = (
        Index("ix_recommendation_status_change", "recommendation_id", "id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendation.id", ondelete="CASCADE")
    )
    old_status: Mapped[RecommendationStatus | None] = mapped_column(
        StrEnumColumn(RecommendationStatus, 16)
    )
    status: Mapped[RecommendationStatus] = mapped_column(StrEnumColumn(RecommendationStatus, 16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(2000))


class Evidence(Timestamped, Base):
    """A profile indicator of a city that motivates a recommendation or measures its effect:
    an indicator of the catalogue (``framework_code`` empty), or an indicator of a governance
    assessment framework (``framework_code`` names it) as the city's published assessments
    score it.

    The indicator is named by its code: profiles owns the catalogue and the assessments and no
    query crosses schemas, so the code is checked against the dialogue's read models
    (``indicator_ref``, ``assessment_ref``) when the link is made, without a foreign key: a
    link outlives the indicator's removal.
    """

    __tablename__ = "evidence"
    __audit__: ClassVar[Audited | None] = Audited(resource="evidence", city="city_code")
    __table_args__ = (
        UniqueConstraint(
            "recommendation_id",
            "city_code",
            "framework_code",
            "indicator_code",
            "role",
            name="uq_evidence_link",
        ),
        Index("ix_evidence_assessment", "city_code", "framework_code", "indicator_code"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendation.id", ondelete="CASCADE")
    )
    city_code: Mapped[str] = mapped_column(ForeignKey("city_ref.code", ondelete="RESTRICT"))
    indicator_code: Mapped[str] = mapped_column(String(64))
    #: The assessment framework whose indicator this is; empty for the catalogue's.
    framework_code: Mapped[str] = mapped_column(String(48), server_default="")
    role: Mapped[EvidenceRole] = mapped_column(StrEnumColumn(EvidenceRole, 16))
    note: Mapped[str | None] = mapped_column(String(2000))
