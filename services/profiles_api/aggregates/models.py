"""What the worker computes from the published figures: derived values, network and regional
aggregates, the data-coverage matrix, and the bookkeeping of their recomputation.

Every row here can be rebuilt from the observations and the catalogue; none is edited by hand.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.aggregates.schemas import AggregateGroup, RunTrigger
from services.profiles_api.db import Base
from services.profiles_api.indicators.schemas import Aggregation
from shared.audit import NOT_AUDITED, Audited
from shared.columns import StrEnumColumn
from shared.distribution import DISTRIBUTED, LOCAL, REFERENCE, KnownById, distribution


class DerivedValue(KnownById, Base):
    """A city's value of a derived indicator, computed by its formula from the inputs'
    preferred values. Published observations of the same indicator are left as they are."""

    __tablename__ = "derived_value"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # derived from observations
    __table_args__ = (
        UniqueConstraint(
            "indicator_code",
            "city_code",
            "period",
            "scope",
            "disaggregation",
            name="uq_derived_value_key",
        ),
        Index("ix_derived_value_city", "city_code", "indicator_code"),
        distribution(DISTRIBUTED),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code", ondelete="CASCADE"))
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64))
    disaggregation: Mapped[str] = mapped_column(String(255))
    dimensions: Mapped[dict[str, str]] = mapped_column(JSONB)
    value: Mapped[float]
    formula: Mapped[str] = mapped_column(Text)
    # [{"indicator", "value", "observation_id" (null when the input is itself derived),
    #   "obs_status"}] in the order the formula names them.
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Aggregate(Base):
    """One network or regional figure of an indicator for a period, scope and breakdown."""

    __tablename__ = "aggregate"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # derived from observations
    __table_args__ = (
        UniqueConstraint(
            "indicator_code",
            "period",
            "scope",
            "disaggregation",
            "group_kind",
            "region",
            name="uq_aggregate_key",
        ),
        distribution(REFERENCE),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64))
    disaggregation: Mapped[str] = mapped_column(String(255))
    dimensions: Mapped[dict[str, str]] = mapped_column(JSONB)
    # `network`, or `region` with the region's code in `region` ('' for the network).
    group_kind: Mapped[AggregateGroup] = mapped_column(StrEnumColumn(AggregateGroup, 16))
    region: Mapped[str] = mapped_column(String(32))
    rule: Mapped[Aggregation] = mapped_column(StrEnumColumn(Aggregation, 16))
    value: Mapped[float]
    # The smallest contributing value (not shown): a breakdown of a count whose aggregate
    # combines a small count is suppressed, since the other cities' values would reveal it.
    min_value: Mapped[float | None]
    city_count: Mapped[int] = mapped_column(Integer)
    cities: Mapped[list[str]] = mapped_column(ARRAY(String(5)))
    # Cities whose contribution is a derived value (they publish none for the figure).
    derived_cities: Mapped[list[str]] = mapped_column(ARRAY(String(5)))
    # For weighted means: the sum of the contributing cities' weights (their population).
    weight_total: Mapped[float | None]
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Coverage(Base):
    """A cell of the data-coverage matrix: one city and one theme."""

    __tablename__ = "coverage"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # derived from observations
    __table_args__ = (distribution(DISTRIBUTED),)

    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(32), primary_key=True)
    indicators: Mapped[int] = mapped_column(Integer)
    with_data: Mapped[int] = mapped_column(Integer)
    recent: Mapped[int] = mapped_column(Integer)
    latest_period_end: Mapped[date | None] = mapped_column(Date)
    # Periods ending on or after this day count as recent (five years before computed_at).
    recent_since: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AggregationRequest(Base):
    """A pending recomputation of one indicator, due once writes to it have paused."""

    __tablename__ = "aggregation_request"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # bookkeeping of the worker
    __table_args__ = (distribution(LOCAL),)

    indicator_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The first change waiting for this recomputation (kept while later ones push due_at).
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The periods the waiting changes touched; null for all of them (a change of the
    # catalogue, a city moved to another region, a request from before periods were kept).
    periods: Mapped[list[str] | None] = mapped_column(ARRAY(String(10)))
    # The cities whose figures they changed (their coverage is recomputed); null for all.
    cities: Mapped[list[str] | None] = mapped_column(ARRAY(String(5)))


class AggregationRun(Base):
    """The log of recomputations: what ran, when, for which change, and what it wrote."""

    __tablename__ = "aggregation_run"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # bookkeeping of the worker
    __table_args__ = (
        Index("ix_aggregation_run_indicator", "indicator_code", "started_at"),
        distribution(LOCAL),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # Null for the coverage step of a full refresh, which concerns every indicator.
    indicator_code: Mapped[str | None] = mapped_column(String(64))
    # `change` (debounced after writes) or `refresh` (start-up and nightly).
    trigger: Mapped[RunTrigger] = mapped_column(StrEnumColumn(RunTrigger, 16))
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    derived_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    aggregate_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    coverage_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    # Why the recomputation failed (the database's message); null when it wrote its rows.
    # A failed indicator keeps what it had, and its request stays for a later try.
    error: Mapped[str | None] = mapped_column(Text)
