from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.registrations.schemas import RegistrationStatus
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Registration(Timestamped, Versioned, Base):
    """A person's place at an event: invited, registered, waitlisted, declined, cancelled,
    attended.

    ``registered`` and ``attended`` hold a place. Every change of places happens while the
    event's row is locked, so the count of places never passes the capacity however many
    callers register at once; the waitlist is served in ``waitlisted_at`` order.
    """

    __tablename__ = "registration"
    __audit__: ClassVar[Audited | None] = Audited(resource="registration")
    __table_args__ = (
        UniqueConstraint("event_id", "person_id"),
        Index("ix_registration_event_status", "event_id", "status", "waitlisted_at", "id"),
        Index("ix_registration_person", "person_id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    status: Mapped[RegistrationStatus] = mapped_column(StrEnumColumn(RegistrationStatus, 16))
    needs_visa_letter: Mapped[bool] = mapped_column(server_default="false")
    interpretation_language: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(2000))
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    waitlisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def move_to(self, status: RegistrationStatus, now: datetime) -> None:
        """Take ``status`` as of ``now`` (the waitlist is served in order of joining it)."""
        self.status = status
        self.status_changed_at = now
        self.waitlisted_at = now if status is RegistrationStatus.waitlisted else None

    def promote(self, now: datetime) -> None:
        """Give a waitlisted registration the place that freed."""
        self.move_to(RegistrationStatus.registered, now)
