from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, Field

from services.profiles_api.indicators.schemas import Aggregation, Unit
from services.profiles_api.observations.fields import ObsStatus, ValueStatus
from services.profiles_api.observations.schemas import StatusField
from shared.contracts.cities import Region
from shared.contracts.themes import Theme

if TYPE_CHECKING:
    from services.profiles_api.aggregates.models import (
        Aggregate,
        AggregationRun,
        Coverage,
        DerivedValue,
    )
    from services.profiles_api.observations.suppression import Suppression


class AggregateGroup(enum.StrEnum):
    """Which cities an aggregate combines."""

    network = "network"
    region = "region"


class AggregateRead(BaseModel):
    """A network or regional figure, combined from the cities' values by the indicator's rule."""

    indicator: str = Field(examples=["foreign_nationals"])
    unit: Unit
    rule: Aggregation = Field(
        description="`sum`, `mean` (of the cities' values) or `weighted_mean` (weighted by "
        "each city's total population for the same period and scope).",
        examples=["sum"],
    )
    group: AggregateGroup = Field(examples=["region"])
    region: Region | None = Field(description="The region; null for the network.")
    period: str = Field(examples=["2022"])
    period_start: date
    period_end: date
    scope: str = Field(examples=["municipality"])
    disaggregation: str = Field(
        description="Normalised breakdown key (`sex=F`); empty for the total.", examples=[""]
    )
    dimensions: dict[str, str] = Field(examples=[{}])
    value: float | None = Field(
        description="Null when suppressed: a breakdown of a count combining a small count of "
        "a city the caller may not edit.",
        examples=[541000],
    )
    status: ValueStatus = StatusField
    city_count: int = Field(description="How many cities contributed.", examples=[3])
    cities: list[str] = Field(
        description="The contributing cities.", examples=[["ESMAD", "ITTRN", "PTLIS"]]
    )
    derived_cities: list[str] = Field(
        description="Those whose contribution is a derived value (they publish none).",
        examples=[[]],
    )
    weight_total: float | None = Field(
        description="For weighted means: the contributing cities' total population."
    )
    computed_at: datetime

    @classmethod
    def of(
        cls,
        aggregate: Aggregate,
        unit: str,
        suppression: Suppression,
        *,
        hidden_contribution: bool = False,
    ) -> Self:
        """The aggregate as the API shows it, suppressed if it would reveal a hidden value."""
        hidden = suppression.hides_aggregate(
            aggregate.indicator_code,
            aggregate.disaggregation,
            aggregate.min_value,
            aggregate.cities,
            hidden_contribution=hidden_contribution,
        )
        return cls(
            indicator=aggregate.indicator_code,
            unit=Unit(unit),
            rule=Aggregation(aggregate.rule),
            group=AggregateGroup(aggregate.group_kind),
            region=Region(aggregate.region) if aggregate.region else None,
            period=aggregate.period,
            period_start=aggregate.period_start,
            period_end=aggregate.period_end,
            scope=aggregate.scope,
            disaggregation=aggregate.disaggregation,
            dimensions=aggregate.dimensions,
            value=None if hidden else aggregate.value,
            status=ValueStatus.suppressed if hidden else ValueStatus.shown,
            city_count=aggregate.city_count,
            cities=list(aggregate.cities),
            derived_cities=list(aggregate.derived_cities),
            weight_total=aggregate.weight_total,
            computed_at=aggregate.computed_at,
        )


class DerivedInput(BaseModel):
    """One input of a derived value: the indicator and the value the formula read."""

    indicator: str = Field(examples=["population"])
    value: float | None = Field(description="Null when suppressed.", examples=[3280782])
    observation_id: int | None = Field(
        description="The published observation read; null when the input is itself derived."
    )
    obs_status: ObsStatus | None = Field(description="That observation's status.")
    status: ValueStatus = StatusField

    @classmethod
    def of(cls, recorded: dict[str, Any], *, hidden: bool) -> Self:
        status = recorded.get("obs_status")
        return cls(
            indicator=recorded["indicator"],
            value=None if hidden else recorded["value"],
            observation_id=recorded.get("observation_id"),
            obs_status=ObsStatus(status) if status else None,
            status=ValueStatus.suppressed if hidden else ValueStatus.shown,
        )


class DerivedValueRead(BaseModel):
    """A city's value of a derived indicator, computed from its inputs' preferred values."""

    id: int
    city: str = Field(examples=["ESMAD"])
    indicator: str = Field(examples=["foreign_nationals_share"])
    unit: Unit
    period: str = Field(examples=["2017-07-01"])
    period_start: date
    period_end: date
    scope: str = Field(examples=["municipality"])
    disaggregation: str = Field(examples=[""])
    dimensions: dict[str, str] = Field(examples=[{}])
    value: float | None = Field(
        description="Null when suppressed: a small count itself, or computed from one.",
        examples=[12.35],
    )
    status: ValueStatus = StatusField
    formula: str = Field(examples=["foreign_nationals / population * 100"])
    inputs: list[DerivedInput]
    computed_at: datetime

    @classmethod
    def of(cls, derived: DerivedValue, unit: str, suppression: Suppression) -> Self:
        """The derived value with the inputs it was computed from, small counts suppressed."""
        hidden, hidden_inputs = suppression.hides_derived(
            derived.city_code,
            derived.indicator_code,
            derived.disaggregation,
            derived.value,
            derived.inputs,
        )
        return cls(
            id=derived.id,
            city=derived.city_code,
            indicator=derived.indicator_code,
            unit=Unit(unit),
            period=derived.period,
            period_start=derived.period_start,
            period_end=derived.period_end,
            scope=derived.scope,
            disaggregation=derived.disaggregation,
            dimensions=derived.dimensions,
            value=None if hidden else derived.value,
            status=ValueStatus.suppressed if hidden else ValueStatus.shown,
            formula=derived.formula,
            inputs=[
                DerivedInput.of(recorded, hidden=hidden_input)
                for recorded, hidden_input in zip(derived.inputs, hidden_inputs, strict=True)
            ],
            computed_at=derived.computed_at,
        )


class CoverageCell(BaseModel):
    """One city and one theme of the data-coverage matrix."""

    city: str = Field(examples=["PTLIS"])
    theme: Theme
    indicators: int = Field(description="Indicators of the theme in the catalogue.")
    with_data: int = Field(description="Of those, how many the city has a published value for.")
    recent: int = Field(
        description="How many it has a value for whose period ends in the last 5 years."
    )
    recent_since: date = Field(description="The first period end that counts as recent.")
    latest_period_end: date | None
    computed_at: datetime

    @classmethod
    def of(cls, cell: Coverage) -> Self:
        return cls(
            city=cell.city_code,
            theme=Theme(cell.theme),
            indicators=cell.indicators,
            with_data=cell.with_data,
            recent=cell.recent,
            recent_since=cell.recent_since,
            latest_period_end=cell.latest_period_end,
            computed_at=cell.computed_at,
        )


class RunTrigger(enum.StrEnum):
    """What started a recomputation."""

    change = "change"  # figures or the catalogue changed (debounced)
    sweep = "sweep"  # a request whose job was lost, or an indicator that failed before
    refresh = "refresh"  # the full refresh, at the worker's start and nightly


class AggregationRunRead(BaseModel):
    """One recomputation by the worker: of one indicator's derived values and aggregates, or
    (indicator null) of the coverage matrix at the end of a full refresh."""

    id: int
    indicator: str | None = Field(
        description="Null for the coverage step of a full refresh.", examples=["population"]
    )
    trigger: RunTrigger = Field(examples=["change"])
    requested_at: datetime | None = Field(
        description="When the first change it answers was made; `finished_at` minus this is "
        "how long the aggregates lagged behind the figures. Null when nothing was waiting."
    )
    started_at: datetime
    finished_at: datetime
    derived_rows: int = Field(description="Derived values written.", examples=[42])
    aggregate_rows: int = Field(description="Aggregates written.", examples=[18])
    coverage_rows: int = Field(description="Cells of the coverage matrix written.", examples=[0])
    error: str | None = Field(
        description="Why the recomputation failed (the database's SQLSTATE and message); null "
        "when it succeeded. A failed indicator keeps its previous derived values and "
        "aggregates and is tried again.",
        examples=["22003: value out of range: overflow"],
    )

    @classmethod
    def of(cls, run: AggregationRun) -> Self:
        return cls(
            id=run.id,
            indicator=run.indicator_code,
            trigger=RunTrigger(run.trigger),
            requested_at=run.requested_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            derived_rows=run.derived_rows,
            aggregate_rows=run.aggregate_rows,
            coverage_rows=run.coverage_rows,
            error=run.error,
        )
