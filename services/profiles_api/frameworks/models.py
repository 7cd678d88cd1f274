"""Framework versions, kept whole (the document) and flattened (items and options), so that
scores are computed in SQL. Rows are written once, when a version is published, and never
changed: a change is a new version."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.db import Timestamped
from shared.distribution import REFERENCE, distribution


class Framework(Timestamped, Base):
    """A published framework version: immutable."""

    __tablename__ = "assessment_framework"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="assessment_framework", identity=("code", "version")
    )
    __table_args__ = (UniqueConstraint("code", "version"), distribution(REFERENCE))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(String(48))
    version: Mapped[str] = mapped_column(String(16))
    titles: Mapped[dict[str, str]] = mapped_column(JSONB)
    model: Mapped[str] = mapped_column(Text)
    licence: Mapped[str] = mapped_column(Text)
    rankable: Mapped[bool] = mapped_column(Boolean)
    evidence_required: Mapped[bool] = mapped_column(Boolean)
    #: The whole document as published (canonical JSON), and its SHA-256.
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))


class FrameworkItem(Base):
    """An area, indicator or question of a framework version, with its parent and weight;
    ``aggregation`` and ``min_answered`` are the rule that combines its children (the
    framework's rule of the level below)."""

    __tablename__ = "assessment_framework_item"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # written with its audited framework
    __table_args__ = (distribution(REFERENCE),)

    framework_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_framework.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(48))
    position: Mapped[int] = mapped_column(SmallInteger)
    weight: Mapped[float] = mapped_column(Float)
    titles: Mapped[dict[str, str]] = mapped_column(JSONB)

    @classmethod
    def of(
        cls, framework_id: int, level: str, item: Any, parent: str | None, position: int
    ) -> FrameworkItem:
        """The row of an area, indicator or question of a document."""
        return cls(
            framework_id=framework_id,
            level=level,
            code=item.code,
            parent_code=parent,
            position=position,
            weight=item.weight,
            titles=item.titles,
        )


class FrameworkOption(Base):
    """An answer option of a question, with its value on 0-100."""

    __tablename__ = "assessment_framework_option"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # written with its audited framework
    __table_args__ = (
        ForeignKeyConstraint(
            ["framework_id", "level", "question_code"],
            [
                "assessment_framework_item.framework_id",
                "assessment_framework_item.level",
                "assessment_framework_item.code",
            ],
            ondelete="CASCADE",
        ),
        distribution(REFERENCE),
    )

    framework_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    level: Mapped[str] = mapped_column(String(16), server_default="question")
    question_code: Mapped[str] = mapped_column(String(48), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[float] = mapped_column(Float)
    titles: Mapped[dict[str, str]] = mapped_column(JSONB)
