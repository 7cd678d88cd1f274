from __future__ import annotations

from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.challenges.schemas import NeedType, Priority
from services.profiles_api.db import Base
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import DISTRIBUTED, KnownById, distribution


class Challenge(KnownById, Timestamped, Versioned, Base):
    """A need a city names for a theme, from its stakeholders' priority work."""

    __tablename__ = "challenge"
    __audit__: ClassVar[Audited | None] = Audited(resource="challenge", city="city_code")
    __table_args__ = (Index("ix_challenge_city", "city_code", "id"), distribution(DISTRIBUTED))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="RESTRICT"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(32))
    need_type: Mapped[NeedType] = mapped_column(StrEnumColumn(NeedType, 16))
    description: Mapped[dict[str, str]] = mapped_column(JSONB)
    priority: Mapped[Priority] = mapped_column(StrEnumColumn(Priority, 8))
    #: ``[{"framework": "mgi_local", "indicator": "wog_coordination"}]``
    assessment_indicators: Mapped[list[dict[str, str]]] = mapped_column(JSONB, server_default="[]")
