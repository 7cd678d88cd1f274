from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import Audited
from shared.db import Timestamped, Versioned


class Section(Timestamped, Versioned, Base):
    """A narrative chapter of a city's profile, with its last published text kept apart."""

    __tablename__ = "section"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="section", city="city_code", identity=("city_code", "code")
    )
    __table_args__ = (UniqueConstraint("city_code", "code"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(ForeignKey("city.code", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    narrative: Mapped[dict[str, str]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="draft")
    published_title: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    published_narrative: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    published_version: Mapped[int | None]
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(200))
