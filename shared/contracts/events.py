"""The outbox event envelope and the payloads of each event type.

Every state change another part of the platform reacts to is written as one ``OutboxEvent``
in the owning schema's ``outbox`` table, in the same transaction as the change. The worker
relays it to a job whose id is the event id, so delivery is at least once and keyed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
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


#: The fields of an indicator that its derived values, aggregates and coverage depend on.
INDICATOR_AGGREGATION_FIELDS = ("aggregation", "formula", "theme", "dimensions")
#: The fields of an indicator other services keep of it (the dialogue's ``indicator_ref``).
INDICATOR_REF_FIELDS = ("names", "unit")


class IndicatorChanged(EventPayload):
    """An indicator was added, changed or removed.

    Written on every change of what other services keep of it (its names, a rename
    included, and unit) and of what its derived values, aggregates or coverage depend on
    (aggregation rule, formula, theme, dimensions); ``changed_fields`` says which of these
    changed (all of them for an addition). It carries the indicator's code, names (language
    map, as the catalogue stores them) and unit as they are after the change (before it, for a
    removal). Events written before names and unit were added have them empty.
    """

    event_type: ClassVar[str] = "indicator.changed"
    code: str
    names: dict[str, str] = Field(default_factory=dict, examples=[{"en": "Foreign nationals"}])
    unit: str | None = Field(default=None, examples=["persons"])
    created: bool = False
    removed: bool = False
    changed_fields: list[str] = Field(default_factory=list)

    @property
    def changes_aggregation(self) -> bool:
        """Whether derived values, aggregates or coverage must be recomputed: an addition, a
        removal, or a change of a field they depend on (not a rename)."""
        return (
            self.created
            or self.removed
            or any(field in INDICATOR_AGGREGATION_FIELDS for field in self.changed_fields)
        )


class EditionPublished(EventPayload):
    """A city's profile was published as an edition (``GET /v1/editions/{edition_id}``): a
    frozen snapshot with its content hash, citable by its id."""

    event_type: ClassVar[str] = "edition.published"
    edition_id: str = Field(examples=["PTLIS-2026-1"])
    city: CityCode
    published_at: datetime
    content_hash: str


class AssessmentFramework(BaseModel):
    """The framework version an assessment answers: code, version, titles by language, and
    whether its scores may be ranked across cities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(examples=["mipex_city"])
    version: str = Field(examples=["1.0"])
    titles: dict[str, str] = Field(examples=[{"en": "Migrant integration policies (city)"}])
    rankable: bool


class AssessmentScore(BaseModel):
    """One score of a published assessment: ``overall`` (code ``""``), an area's or an
    indicator's (``parent`` its area); ``score`` 0-100 or null with its ``reason``;
    ``completeness`` the share of the group's questions answered with an option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: str = Field(examples=["indicator"])
    code: str = Field(examples=["labour_market.access"])
    parent: str | None = None
    score: float | None = None
    reason: str | None = Field(default=None, examples=["insufficient_data"])
    completeness: float = Field(ge=0, le=1)


class AssessmentIndicator(BaseModel):
    """An indicator of the framework version: its code, area and titles by language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    area: str | None = None
    titles: dict[str, str] = Field(default_factory=dict)


class AssessmentStatusFields(BaseModel):
    """What every assessment event says: which assessment, of which city, against which
    framework version, as of which date, and its status after the change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assessment_id: int
    city: CityCode
    framework: AssessmentFramework
    reference_date: date
    status: str = Field(examples=["submitted"])


class AssessmentSubmitted(AssessmentStatusFields, EventPayload):
    """A city's assessment was submitted for review (four eyes: someone else validates)."""

    event_type: ClassVar[str] = "assessment.submitted"


class AssessmentValidated(AssessmentStatusFields, EventPayload):
    """A city's assessment was validated by someone other than who submitted it."""

    event_type: ClassVar[str] = "assessment.validated"


class AssessmentPublished(AssessmentStatusFields, EventPayload):
    """A city's assessment was published: final, with its scores as published and the
    framework version's indicators (what the dialogue's ``assessment_ref`` keeps)."""

    event_type: ClassVar[str] = "assessment.published"
    published_at: datetime
    scores: list[AssessmentScore] = Field(default_factory=list)
    indicators: list[AssessmentIndicator] = Field(default_factory=list)


class OutboxEvent(BaseModel):
    """The envelope of every event: identity, origin, time, actor, request (and trace) and
    payload."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(examples=["city.upserted"])
    source: str = Field(description="The service that owns the change.", examples=["profiles"])
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: str | None = Field(default=None, description="Subject of the token that caused it.")
    request_id: str | None = Field(
        default=None,
        description="The request that caused it (its `X-Request-ID`), or the job's "
        "(`job:<job id>`); the worker's logs of its jobs carry the same id.",
        examples=["4f2a0c5e9b7d4e61a3c2b1d0e9f8a7b6"],
    )
    #: The W3C ``traceparent`` of the span that wrote it, when the writer was traced
    #: (``shared.tracing``): the relay and the event's job continue that trace. Kept in the
    #: stored envelope only (``stored``), never in what partners receive.
    traceparent: str | None = Field(default=None, exclude=True)
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        source: str,
        actor: str | None,
        request_id: str | None = None,
        traceparent: str | None = None,
    ) -> OutboxEvent:
        return cls(
            type=payload.event_type,
            source=source,
            actor=actor,
            request_id=request_id,
            traceparent=traceparent,
            data=payload.model_dump(mode="json"),
        )

    def stored(self) -> dict[str, Any]:
        """The envelope as the outbox keeps it: what partners receive, and the
        ``traceparent`` when there is one."""
        envelope = self.model_dump(mode="json")
        if self.traceparent is not None:
            envelope["traceparent"] = self.traceparent
        return envelope


# Dialogue events: what the worker reacts to (notifications, webhooks, reminders).


class EventChanged(EventPayload):
    """An event of the dialogue was created or changed (not cancelled: see below)."""

    event_type: ClassVar[str] = "event.changed"
    event_id: int
    status: str
    created: bool = False
    changed_fields: list[str] = Field(default_factory=list)


class EventCancelled(EventPayload):
    event_type: ClassVar[str] = "event.cancelled"
    event_id: int


class RegistrationChanged(EventPayload):
    """A person's registration for an event changed status (invited, registered,
    waitlisted, promoted from the waitlist, declined, cancelled, attended)."""

    event_type: ClassVar[str] = "registration.changed"
    registration_id: int
    event_id: int
    person_id: int
    status: str
    previous_status: str | None = None
    promoted_from_waitlist: bool = False


class RecommendationChanged(EventPayload):
    event_type: ClassVar[str] = "recommendation.changed"
    recommendation_id: int
    event_id: int
    status: str
    previous_status: str | None = None
    target_cities: list[CityCode] = Field(default_factory=list)


class ActionChanged(EventPayload):
    event_type: ClassVar[str] = "action.changed"
    action_id: int
    recommendation_id: int
    city: CityCode
    status: str
    previous_status: str | None = None
    due_on: date


class ExchangeMatched(EventPayload):
    event_type: ClassVar[str] = "exchange.matched"
    match_id: int
    request_id: int
    offer_id: int
    request_city: CityCode
    offer_city: CityCode
    theme: str
