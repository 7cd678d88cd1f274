from __future__ import annotations

from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.outcomes.schemas import OutcomeKind
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Outcome(Timestamped, Versioned, Base):
    """What an event left behind: its minutes, reports, presentations, as links."""

    __tablename__ = "outcome"
    __audit__: ClassVar[Audited | None] = Audited(resource="outcome")
    __table_args__ = (Index("ix_outcome_event", "event_id", "id"), distribution(REFERENCE))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    kind: Mapped[OutcomeKind] = mapped_column(StrEnumColumn(OutcomeKind, 16))
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    url: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16))
