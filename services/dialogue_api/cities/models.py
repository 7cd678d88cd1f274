from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.distribution import REFERENCE, distribution


class CityRef(Base):
    """What the dialogue knows of a profiles city: fed by ``city.*`` events, never by a call.

    A city removed from profiles is kept with ``removed_at`` set, so the events and
    recommendations that name it still read; new writes refuse it.
    """

    __tablename__ = "city_ref"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # a read model of profiles' cities
    __table_args__ = (distribution(REFERENCE),)

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    membership_status: Mapped[str] = mapped_column(String(16))
    #: When the change this row reflects happened in profiles; older events are ignored.
    source_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
