"""The declarative base and outbox of schema ``profiles``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

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
    """A version counter for optimistic concurrency (``ETag`` / ``If-Match``).

    Services raise ``version`` by one with each change; the ORM adds ``WHERE version = <the
    version read>`` to every UPDATE and DELETE, so of two writers holding the same ETag the
    second waits for the first's commit and then fails (``Repository.flush`` turns that into
    a 412) instead of overwriting its change.
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version, "version_id_generator": False}


outbox = outbox_table(Base.metadata)
events = OutboxWriter(outbox, source=SERVICE)
