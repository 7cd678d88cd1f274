from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from sqlalchemy import Date, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.contracts.cities import MembershipStatus
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class City(Timestamped, Versioned, Base):
    __tablename__ = "city"
    __audit__: ClassVar[Audited | None] = Audited(resource="city", city="code")
    __table_args__ = (distribution(REFERENCE),)

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(32))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    timezone: Mapped[str] = mapped_column(String(64))
    membership_status: Mapped[MembershipStatus] = mapped_column(StrEnumColumn(MembershipStatus, 16))
    membership_since: Mapped[date | None] = mapped_column(Date)
    focal_points: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
