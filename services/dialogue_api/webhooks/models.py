from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from shared.audit import Audited
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class WebhookSubscription(Timestamped, Versioned, Base):
    """A partner system's endpoint that receives the platform's events, signed.

    The secret is kept as given to the partner (``whsec_`` and base64): the worker needs it to
    sign every delivery. A subscription whose deliveries keep failing is disabled
    (``active`` false, ``disabled_at`` and the reason set) until an admin enables it again.
    """

    __tablename__ = "webhook_subscription"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="webhook_subscription",
        redact=frozenset({"secret"}),
        # Counted by every delivery; the disabling it leads to is recorded.
        ignore=frozenset({"consecutive_failures"}),
    )
    __table_args__ = (
        Index("ix_webhook_subscription_event_types", "event_types", postgresql_using="gin"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(server_default="true")
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    #: Failed delivery attempts since the last success; reaching the limit disables it.
    consecutive_failures: Mapped[int] = mapped_column(server_default="0")
    created_by: Mapped[str] = mapped_column(String(200))
