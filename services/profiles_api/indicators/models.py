from __future__ import annotations

from typing import ClassVar

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import Audited
from shared.db import Timestamped, Versioned


class Indicator(Timestamped, Versioned, Base):
    __tablename__ = "indicator"
    __audit__: ClassVar[Audited | None] = Audited(resource="indicator")

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    theme: Mapped[str] = mapped_column(String(32), index=True)
    unit: Mapped[str] = mapped_column(String(16))
    value_type: Mapped[str] = mapped_column(String(16))
    population_concept: Mapped[str | None] = mapped_column(String(64))
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    aggregation: Mapped[str] = mapped_column(String(16))
    formula: Mapped[str | None] = mapped_column(Text)
