from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import DateTime, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.distribution import REFERENCE, distribution


class IndicatorRef(Base):
    """What the dialogue knows of a profiles indicator: fed by ``indicator.changed`` events,
    never by a call.

    An indicator removed from the catalogue is kept with ``removed_at`` set, so the evidence
    that names it still reads; new evidence refuses it.
    """

    __tablename__ = "indicator_ref"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # a read model of profiles' catalogue
    __table_args__ = (distribution(REFERENCE),)

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONB)
    unit: Mapped[str] = mapped_column(String(16))
    #: When the change this row reflects happened in profiles; older events are ignored.
    source_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
