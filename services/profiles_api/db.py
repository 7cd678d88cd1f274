"""The declarative base and outbox of schema ``profiles``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.profiles_api import SCHEMA, SERVICE
from shared.db import schema_metadata
from shared.outbox import OutboxWriter, outbox_table


class Base(DeclarativeBase):
    metadata = schema_metadata(SCHEMA)


class Timestamped:
    """Creation and last-change times, set by the database."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Versioned:
    """A version counter for optimistic concurrency (``ETag`` / ``If-Match``)."""

    version: Mapped[int] = mapped_column(server_default="1")


outbox = outbox_table(Base.metadata)
events = OutboxWriter(outbox, source=SERVICE)
