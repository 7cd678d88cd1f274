from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.profiles_api.observations.fields import (
    PERIOD_PATTERN,
    SCOPE_PATTERN,
    ObsStatus,
    ValueStatus,
)
from services.profiles_api.observations.suppression import without_values
from services.profiles_api.sources.schemas import SourceKind, Text, Title, Url
from shared.contracts.cities import CityCode
from shared.contracts.indicators import IndicatorCode
from shared.schemas import InputModel

if TYPE_CHECKING:
    from asyncpg import Record
    from sqlalchemy.engine import Row

    from services.profiles_api.observations.models import Observation, ObservationChange
    from services.profiles_api.observations.suppression import Suppression
    from services.profiles_api.observations.writer import WriteResult
    from services.profiles_api.sources.models import Source

Period = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["2017", "2017-Q3", "2017-07-01"])]
Scope = Annotated[str, Field(pattern=SCOPE_PATTERN, examples=["municipality", "district:01"])]
#: How a read says whether the value is shown or hidden as a small number.
StatusField = Field(
    default=ValueStatus.shown,
    description="`suppressed`: a breakdown of a count below the suppression threshold, hidden "
    "(with its range) from callers who may not edit the city; `shown` otherwise.",
    examples=["shown"],
)
Reason = Annotated[str, Field(min_length=1, max_length=500, examples=["2021 census release"])]


class InlineSourceIn(InputModel):
    """A source named inline: matched by title and URL, created if new."""

    title: Title
    publisher: Text | None = None
    url: Url | None = None
    kind: SourceKind = SourceKind.other


class ObservationIn(InputModel):
    """One figure; its key is (city, indicator, period, scope, dimensions, source)."""

    # The schema states what ``_one_source`` checks: a known source by id, or one inline.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["source_id"],
                    "properties": {"source_id": {"type": "integer"}, "source": {"type": "null"}},
                },
                {
                    "required": ["source"],
                    "properties": {"source": {"type": "object"}, "source_id": {"type": "null"}},
                },
            ]
        },
    )

    city: CityCode
    indicator: IndicatorCode
    period: Period
    scope: Scope = "municipality"
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        max_length=8,
        description="Breakdown by the indicator's dimensions; empty for the total.",
        examples=[{"sex": "F"}],
    )
    value: float | None = Field(
        description="Null only with obs_status M. Within the plausible range of the "
        "indicator's unit (as are `value_low` and `value_high`): `persons` and `count` whole "
        "numbers from 0 to 10,000,000,000; `percent` 0 to 100; the other units "
        "-10^15 to 10^15.",
        examples=[405233],
    )
    value_low: float | None = Field(default=None, examples=[400000])
    value_high: float | None = Field(default=None, examples=[410000])
    obs_status: ObsStatus = ObsStatus.A
    source_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    source: InlineSourceIn | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_source(self) -> ObservationIn:
        if (self.source_id is None) == (self.source is None):
            raise ValueError("give either source_id or source")
        return self


class ObservationBatchIn(InputModel):
    observations: list[ObservationIn] = Field(min_length=1, max_length=5000)
    reason: Reason | None = Field(default=None, description="Why the values change (history).")


class BatchResult(BaseModel):
    received: int
    inserted: int
    updated: int
    unchanged: int
    sources_created: int
    notes: list[str] = Field(
        default_factory=list,
        description="Things worth knowing that did not stop the write, e.g. an observation "
        "describing an existing source differently (the existing description is kept).",
    )

    @classmethod
    def of(cls, result: WriteResult) -> Self:
        """What writing a batch did."""
        return cls(
            received=result.received,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            sources_created=result.sources_created,
            notes=result.notes,
        )


class SourceSummary(BaseModel):
    id: int
    title: str
    publisher: str | None
    url: str | None
    kind: SourceKind
    reliability_rank: int

    @classmethod
    def of(cls, source: Source) -> Self:
        """What a figure says of its source."""
        return cls(
            id=source.id,
            title=source.title,
            publisher=source.publisher,
            url=source.url,
            kind=SourceKind(source.kind),
            reliability_rank=source.reliability_rank,
        )


class ObservationRead(BaseModel):
    id: int
    city: str
    indicator: str
    period: str
    period_start: date
    period_end: date
    scope: str
    dimensions: dict[str, str]
    value: float | None = Field(description="Null when missing (M) or suppressed.")
    value_low: float | None
    value_high: float | None
    obs_status: ObsStatus
    status: ValueStatus = StatusField
    note: str | None
    source: SourceSummary
    updated_at: datetime


def observation_json(
    row: Row[*tuple[Any, ...]] | Record, suppression: Suppression
) -> dict[str, Any]:
    """``ObservationRead`` of a row of ``repository.LIST_COLUMNS`` (or the driver's record of
    it, ``repository.page_records``), as the JSON it serialises
    to, its value hidden if it is a small count: the one serialisation of an observation (the
    list, the single read and the CSV export), so lists of figures are answered without
    building a model per figure. The row is unpacked by position: reading 21 columns by name
    costs more than the rest of the item."""
    (
        id_,
        city,
        indicator,
        period,
        period_start,
        period_end,
        scope,
        disaggregation,
        dimensions,
        value,
        value_low,
        value_high,
        obs_status,
        note,
        updated_at,
        source_id,
        source_title,
        source_publisher,
        source_url,
        source_kind,
        source_reliability_rank,
    ) = row
    hidden = suppression.hides(city, indicator, disaggregation, value)
    return {
        "id": id_,
        "city": city,
        "indicator": indicator,
        "period": period,
        "period_start": period_start,
        "period_end": period_end,
        "scope": scope,
        "dimensions": dimensions,
        "value": None if hidden else value,
        "value_low": None if hidden else value_low,
        "value_high": None if hidden else value_high,
        "obs_status": obs_status,
        "status": SUPPRESSED if hidden else SHOWN,
        "note": note,
        "source": {
            "id": source_id,
            "title": source_title,
            "publisher": source_publisher,
            "url": source_url,
            "kind": source_kind,
            "reliability_rank": source_reliability_rank,
        },
        "updated_at": updated_at,
    }


SHOWN, SUPPRESSED = ValueStatus.shown.value, ValueStatus.suppressed.value


class ObservationChangeRead(BaseModel):
    id: int
    change: str = Field(description="`created`, `updated` or `deleted`.")
    changed_at: datetime
    changed_by: str
    reason: str | None
    old_value: float | None
    new_value: float | None
    old: dict[str, Any] | None = Field(description="Value, range, status and note before.")
    new: dict[str, Any] | None = Field(description="Value, range, status and note after.")
    import_id: uuid.UUID | None
    status: ValueStatus = Field(
        default=ValueStatus.shown,
        description="`suppressed` when the old or the new value is a small count hidden from "
        "the caller (its value, range and bounds read as null).",
    )

    @classmethod
    def of(
        cls, change: ObservationChange, observation: Observation | None, suppression: Suppression
    ) -> Self:
        """One entry of a figure's history, small counts hidden from who may not see them."""
        old, new = change.old, change.new
        hidden = False
        if old is not None and suppression.hides_recorded(observation, old):
            old, hidden = without_values(old), True
        if new is not None and suppression.hides_recorded(observation, new):
            new, hidden = without_values(new), True
        return cls(
            id=change.id,
            change=change.change,
            changed_at=change.changed_at,
            changed_by=change.changed_by,
            reason=change.reason,
            old_value=(old or {}).get("value"),
            new_value=(new or {}).get("value"),
            old=old,
            new=new,
            import_id=change.import_id,
            status=ValueStatus.suppressed if hidden else ValueStatus.shown,
        )
