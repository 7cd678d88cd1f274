from __future__ import annotations

from typing import ClassVar

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from services.profiles_api.indicators.schemas import Aggregation, Unit, ValueType
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Indicator(Timestamped, Versioned, Base):
    __tablename__ = "indicator"
    __audit__: ClassVar[Audited | None] = Audited(resource="indicator")
    __table_args__ = (distribution(REFERENCE),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    theme: Mapped[str] = mapped_column(String(32), index=True)
    unit: Mapped[Unit] = mapped_column(StrEnumColumn(Unit, 16))
    value_type: Mapped[ValueType] = mapped_column(StrEnumColumn(ValueType, 16))
    population_concept: Mapped[str | None] = mapped_column(String(64))
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    aggregation: Mapped[Aggregation] = mapped_column(StrEnumColumn(Aggregation, 16))
    formula: Mapped[str | None] = mapped_column(Text)
