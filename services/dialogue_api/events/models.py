from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.events.schemas import EventStatus, EventType
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Event(Timestamped, Versioned, Base):
    """A meeting of the dialogue: a mission, a technical meeting, a conference…

    Times are stored in UTC; ``timezone`` is where the event happens, for calendars and for
    showing local times.
    """

    __tablename__ = "event"
    __audit__: ClassVar[Audited | None] = Audited(resource="event", city="host_city_code")
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window",
        ),
        Index("ix_event_starts_at", "starts_at", "id"),
        Index("ix_event_host_city", "host_city_code"),
        Index("ix_event_cities", "participating_cities", postgresql_using="gin"),
        Index("ix_event_themes", "themes", postgresql_using="gin"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    type: Mapped[EventType] = mapped_column(StrEnumColumn(EventType, 32))
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    description: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    themes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    host_city_code: Mapped[str | None] = mapped_column(
        ForeignKey("city_ref.code", ondelete="RESTRICT")
    )
    participating_cities: Mapped[list[str]] = mapped_column(ARRAY(String(5)), server_default="{}")
    venue: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[EventStatus] = mapped_column(
        StrEnumColumn(EventStatus, 16), server_default="planned"
    )
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    registration_closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    interpretation: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    #: Public events (and their recommendations) are readable without a token.
    public: Mapped[bool] = mapped_column(server_default="true")
