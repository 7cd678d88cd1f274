from __future__ import annotations

import enum

from pydantic import BaseModel, Field

from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.fields import ObsStatus, ValueStatus
from services.profiles_api.observations.schemas import SourceSummary, StatusField


class ComparedValue(BaseModel):
    city: str
    city_name: str
    indicator: str | None = Field(description="The indicator the value is for; null if none.")
    unit: Unit | None
    population_concept: str | None
    period: str | None
    scope: str | None
    value: float | None
    value_low: float | None
    value_high: float | None
    obs_status: ObsStatus | None
    status: ValueStatus = StatusField
    estimate: bool = Field(description="An estimate (status E, F, I or U, or given as a range).")
    source: SourceSummary | None
    observation_id: int | None


class WarningKind(enum.StrEnum):
    population_concept = "population_concept"
    scope = "scope"
    period = "period"
    estimate = "estimate"
    unit = "unit"
    missing = "missing"


class ComparabilityWarning(BaseModel):
    kind: WarningKind
    detail: str = Field(
        description="The warning in English (`kind`, `cities` and `values` say it in any language)."
    )
    cities: list[str] = Field(description="The cities the warning is about.")
    values: dict[str, list[str]] = Field(
        default_factory=dict,
        description="For a difference (`population_concept`, `unit`, `scope`, `period`): each "
        "value found, with the cities that have it (`unspecified` when a city's is not given).",
    )


class Comparison(BaseModel):
    indicators: list[str]
    period: str | None
    values: list[ComparedValue]
    warnings: list[ComparabilityWarning] = Field(
        description="Why the values may not be comparable as they stand; empty when they are."
    )
