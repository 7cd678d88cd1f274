"""An edition's PDF report in one language, as the worker rendered it.

Editions never change, so neither does a rendering: it is rendered once per edition and
language, on publication or on first request, and served from here ever after (the image's
file system is read-only and the API's replicas share nothing but PostgreSQL). A row without
``pdf`` is a request the worker has not fulfilled yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from shared.audit import NOT_AUDITED, Audited
from shared.distribution import DISTRIBUTED, distribution


class EditionReport(Base):
    """The PDF of edition ``edition_id`` in ``language``, or the request for it."""

    __tablename__ = "edition_report"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # derived from an immutable edition
    __table_args__ = (
        ForeignKeyConstraint(
            ["edition_id", "city_code"],
            ["edition.id", "edition.city_code"],
            name="fk_edition_report_edition",
            ondelete="CASCADE",
        ),
        distribution(DISTRIBUTED),
    )

    edition_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rendered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: SHA-256 of ``pdf``, lowercase hexadecimal: the PDF's ETag.
    pdf_hash: Mapped[str | None] = mapped_column(String(64))
    #: Renderings tried and failed, and the last error: a document the renderer refuses is
    #: not tried for ever.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
