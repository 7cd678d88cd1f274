from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.actions.schemas import ActionStatus
from services.dialogue_api.db import Base
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Action(Timestamped, Versioned, Base):
    """A city's commitment to follow up a recommendation, with an owner and a due date.

    Whether it is overdue is derived (due date past in the city's timezone and not done),
    never stored.
    """

    __tablename__ = "action"
    __audit__: ClassVar[Audited | None] = Audited(resource="action", city="city_code")
    __table_args__ = (
        Index("ix_action_recommendation", "recommendation_id", "id"),
        Index("ix_action_city_due", "city_code", "due_on", "id"),
        Index("ix_action_owner", "owner_id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendation.id", ondelete="RESTRICT")
    )
    city_code: Mapped[str] = mapped_column(ForeignKey("city_ref.code", ondelete="RESTRICT"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(
        StrEnumColumn(ActionStatus, 16), server_default="planned"
    )


class ProgressUpdate(Base):
    """A dated progress report on an action (``POST /v1/actions/{id}/updates``)."""

    __tablename__ = "action_update"
    __audit__: ClassVar[Audited | None] = Audited(resource="action_update")
    __table_args__ = (
        Index("ix_action_update_action", "action_id", "id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"))
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    reported_by: Mapped[str] = mapped_column(String(200))
    text: Mapped[dict[str, str]] = mapped_column(JSONB)
    progress: Mapped[int | None]
    old_status: Mapped[ActionStatus | None] = mapped_column(StrEnumColumn(ActionStatus, 16))
    status: Mapped[ActionStatus | None] = mapped_column(StrEnumColumn(ActionStatus, 16))
