"""The outbox event envelope and the payloads of each event type.

Every state change another part of the platform reacts to is written as one ``OutboxEvent``
in the owning schema's ``outbox`` table, in the same transaction as the change. The worker
relays it to a job whose id is the event id, so delivery is at least once and keyed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.cities import CityCode, CityRef


class EventPayload(BaseModel):
    """Base of event payloads; ``event_type`` names the topic in the envelope."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: ClassVar[str]


class CityUpserted(EventPayload):
    event_type: ClassVar[str] = "city.upserted"
    city: CityRef


class CityDeleted(EventPayload):
    event_type: ClassVar[str] = "city.deleted"
    code: CityCode


class ObservationKey(BaseModel):
    """A group of changed observations: one indicator and period, in these cities."""

    model_config = ConfigDict(frozen=True)

    indicator: str
    period: str
    cities: list[CityCode]


class ObservationsChanged(EventPayload):
    event_type: ClassVar[str] = "observations.changed"
    keys: list[ObservationKey]
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


class OutboxEvent(BaseModel):
    """The envelope of every event: identity, origin, time, actor and payload."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(examples=["city.upserted"])
    source: str = Field(description="The service that owns the change.", examples=["profiles"])
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: str | None = Field(default=None, description="Subject of the token that caused it.")
    data: dict[str, Any]

    @classmethod
    def wrap(cls, payload: EventPayload, *, source: str, actor: str | None) -> OutboxEvent:
        return cls(
            type=payload.event_type,
            source=source,
            actor=actor,
            data=payload.model_dump(mode="json"),
        )
