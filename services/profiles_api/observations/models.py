from __future__ import annotations

import enum
import os
import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.profiles_api.db import Base
from services.profiles_api.observations.fields import ObsStatus
from shared.audit import NOT_AUDITED, Audited
from shared.columns import StrEnumColumn
from shared.db import Timestamped
from shared.distribution import DISTRIBUTED, KnownById, distribution

#: Observations and their history are partitioned by city: a city's rows are in one
#: partition (docs/decisions.md, "Partitioned observations"). Migration 0014 makes the
#: partitions, as many as this variable says when it runs (fixed from then on).
PARTITION_BY = "HASH (city_code)"
PARTITIONS_VARIABLE = "MC2CM_OBSERVATION_PARTITIONS"
DEFAULT_PARTITIONS = 16


class Observation(KnownById, Timestamped, Base):
    """One published figure: a city's value of an indicator for a period, scope and breakdown."""

    __tablename__ = "observation"
    __audit__: ClassVar[Audited | None] = Audited(
        resource="observation", city="city_code", ignore=frozenset({"updated_by"})
    )
    __table_args__ = (
        UniqueConstraint(
            "city_code",
            "indicator_code",
            "period",
            "scope",
            "disaggregation",
            "source_id",
            name="uq_observation_key",
        ),
        Index("ix_observation_series", "city_code", "indicator_code", "period_start", "id"),
        Index("ix_observation_indicator_period", "indicator_code", "period_start"),
        # An indicator's values in the order the preferred one is chosen (aggregates).
        Index(
            "ix_observation_preference",
            "indicator_code",
            "period",
            "scope",
            "disaggregation",
            "city_code",
            "reliability_rank",
            text("updated_at DESC"),
            text("id DESC"),
            postgresql_where=text("value IS NOT NULL"),
        ),
        {**distribution(DISTRIBUTED), "postgresql_partition_by": PARTITION_BY},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="RESTRICT"), primary_key=True
    )
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicator.code", ondelete="RESTRICT"))
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(64))
    # Normalised breakdown key, e.g. "citizenship=SY;sex=F" ("" for the total).
    disaggregation: Mapped[str] = mapped_column(String(255), server_default="")
    dimensions: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    value: Mapped[float | None]
    value_low: Mapped[float | None]
    value_high: Mapped[float | None]
    obs_status: Mapped[ObsStatus] = mapped_column(StrEnumColumn(ObsStatus, 1), server_default="A")
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="RESTRICT"), index=True)
    # The source's reliability_rank, kept here so that an index gives the preference order:
    # set by the writer, by a trigger for rows inserted without it, and on the source's
    # change of rank (migration 0015).
    reliability_rank: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(200))


#: The fields whose changes the history records (besides who, when and why).
VALUE_FIELDS = ("value", "value_low", "value_high", "obs_status", "note")


class ValueChange(enum.StrEnum):
    """What a change did to an observation."""

    created = "created"
    updated = "updated"
    deleted = "deleted"


class ObservationChange(KnownById, Base):
    """One change of an observation's value: kept forever, even after the observation goes.

    ``city_code`` is the observation's city, kept with its history (no foreign key: the
    history outlives the observation, and may outlive the city).
    """

    __tablename__ = "observation_history"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # the value history is itself a log
    __table_args__ = ({**distribution(DISTRIBUTED), "postgresql_partition_by": PARTITION_BY},)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    observation_id: Mapped[int] = mapped_column(BigInteger, index=True)
    change: Mapped[ValueChange] = mapped_column(StrEnumColumn(ValueChange, 8))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class ObservationsVersion(Base):
    """How many times a city's observations were written: the version an export's weak
    ``ETag`` is made of.

    Every writer of a city's observations takes the city's lock
    (``repository.lock_city_observations``), which adds one here in the same transaction.
    Writers of a city are serialised by that lock, so the numbers follow the commits' order:
    a read sees a higher number exactly when it can see a later write, which a timestamp
    (taken when a transaction began) would not promise.
    """

    __tablename__ = "observations_version"
    __audit__: ClassVar[Audited | None] = NOT_AUDITED  # a counter of what is audited elsewhere
    __table_args__ = (distribution(DISTRIBUTED),)

    city_code: Mapped[str] = mapped_column(
        ForeignKey("city.code", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)


def _create_partitions(table: Table, connection: Connection, **_: Any) -> None:
    """``metadata.create_all`` gives a partitioned table its partitions, named and counted as
    migration 0014 makes them: a partitioned table without partitions takes no row."""
    count = int(os.environ.get(PARTITIONS_VARIABLE, DEFAULT_PARTITIONS))
    if not 1 <= count <= 1024:
        raise ValueError(f"{PARTITIONS_VARIABLE}={count}: choose from 1 to 1024")
    for remainder in range(count):
        connection.execute(
            text(
                f'CREATE TABLE "{table.schema}"."{table.name}_p{remainder:02d}" '
                f'PARTITION OF "{table.schema}"."{table.name}" '
                f"FOR VALUES WITH (MODULUS {count}, REMAINDER {remainder})"
            )
        )


for _partitioned in (Observation.__table__, ObservationChange.__table__):
    event.listen(_partitioned, "after_create", _create_partitions)
