from __future__ import annotations

from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.dialogue_api.db import Base
from services.dialogue_api.exchanges.schemas import ExchangeKind, ExchangeStatus
from shared.audit import Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped, Versioned
from shared.distribution import REFERENCE, distribution


class Exchange(Timestamped, Versioned, Base):
    """A city offering, or asking for, expertise on a theme."""

    __tablename__ = "exchange"
    __audit__: ClassVar[Audited | None] = Audited(resource="exchange", city="city_code")
    __table_args__ = (
        Index("ix_exchange_open", "kind", "theme", postgresql_where=text("status = 'open'")),
        Index("ix_exchange_city", "city_code", "id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[ExchangeKind] = mapped_column(StrEnumColumn(ExchangeKind, 8))
    city_code: Mapped[str] = mapped_column(ForeignKey("city_ref.code", ondelete="RESTRICT"))
    theme: Mapped[str] = mapped_column(String(32))
    #: Further themes the expertise touches; ranking counts the themes two exchanges share.
    related_themes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    title: Mapped[dict[str, str]] = mapped_column(JSONB)
    description: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    status: Mapped[ExchangeStatus] = mapped_column(
        StrEnumColumn(ExchangeStatus, 16), server_default="open"
    )


class ExchangeMatch(Timestamped, Base):
    """An offer and a request the network agreed to pair."""

    __tablename__ = "exchange_match"
    __audit__: ClassVar[Audited | None] = Audited(resource="exchange_match", city="request_city")
    __table_args__ = (
        UniqueConstraint("request_id", "offer_id"),
        CheckConstraint("request_id <> offer_id", name="distinct_exchanges"),
        Index("ix_exchange_match_offer", "offer_id"),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exchange.id", ondelete="CASCADE"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("exchange.id", ondelete="CASCADE"))
    request_city: Mapped[str] = mapped_column(String(5))
    offer_city: Mapped[str] = mapped_column(String(5))
    matched_by: Mapped[str] = mapped_column(String(200))
