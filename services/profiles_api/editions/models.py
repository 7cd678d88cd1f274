"""A published edition of a city's migration profile: a frozen, citable snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import Audited
from shared.distribution import DISTRIBUTED, distribution


class Edition(Base):
    """The profile of a city as published at ``published_at``, stored once as canonical JSON
    (RFC 8785) with its SHA-256; never changed afterwards. A withdrawal keeps the row as a
    tombstone (its reason and successor), and its reads answer 410."""

    __tablename__ = "edition"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="edition", city="city_code", identity=("id",)
    )
    __table_args__ = (
        UniqueConstraint("city_code", "year", "number", name="uq_edition_number"),
        Index("ix_edition_city_published", "city_code", "published_at", "id"),
        distribution(DISTRIBUTED),
    )

    #: ``{CITY}-{YEAR}-{n}``, e.g. ``PTLIS-2026-1``.
    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="RESTRICT"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(200))
    #: The snapshot as RFC 8785 canonical JSON: the exact text ``content_hash`` is taken of.
    content: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``content`` (UTF-8), lowercase hexadecimal.
    content_hash: Mapped[str] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    #: The edition named as replacing this one at its withdrawal (same city), if any.
    successor_id: Mapped[str | None] = mapped_column(String(24))
