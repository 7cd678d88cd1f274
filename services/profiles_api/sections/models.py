from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from services.profiles_api.sections.schemas import SectionStatus
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import DISTRIBUTED, KnownById, distribution


class Section(KnownById, Timestamped, Versioned, Base):
    """A narrative chapter of a city's profile, with its last published text kept apart."""

    __tablename__ = "section"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="section", city="city_code", identity=("city_code", "code")
    )
    __table_args__ = (UniqueConstraint("city_code", "code"), distribution(DISTRIBUTED))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="RESTRICT"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    narrative: Mapped[dict[str, str]] = mapped_column(JSONB)
    status: Mapped[SectionStatus] = mapped_column(
        StrEnumColumn(SectionStatus, 16), server_default="draft"
    )
    published_title: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    published_narrative: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    published_version: Mapped[int | None]
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(200))
