from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from shared.schemas import InputModel, PatchModel, WebAddress
from shared.text import SINGLE_LINE

if TYPE_CHECKING:
    from services.dialogue_api.webhooks.models import WebhookSubscription


class WebhookEventType(enum.StrEnum):
    """The outbox events of both services a partner may subscribe to
    (``shared/contracts/events.py``)."""

    city_upserted = "city.upserted"
    city_deleted = "city.deleted"
    observations_changed = "observations.changed"
    indicator_changed = "indicator.changed"
    edition_published = "edition.published"
    assessment_submitted = "assessment.submitted"
    assessment_validated = "assessment.validated"
    assessment_published = "assessment.published"
    event_changed = "event.changed"
    event_cancelled = "event.cancelled"
    registration_changed = "registration.changed"
    recommendation_changed = "recommendation.changed"
    action_changed = "action.changed"
    exchange_matched = "exchange.matched"


def _each_type_once(types: list[WebhookEventType]) -> list[WebhookEventType]:
    if len(set(types)) != len(types):
        raise ValueError("lists an event type twice")
    return types


EventTypes = Annotated[
    list[WebhookEventType],
    Field(
        min_length=1,
        max_length=len(WebhookEventType),
        description="The event types to receive, each once.",
        examples=[["event.changed", "event.cancelled", "registration.changed"]],
        json_schema_extra={"uniqueItems": True},
    ),
    AfterValidator(_each_type_once),
]
Url = Annotated[
    WebAddress,
    Field(
        description="Where deliveries are POSTed: http or https (https only in production), "
        "to a public address; loopback, link-local, private, multicast and reserved addresses "
        "(or names resolving to them) are refused, here and again before each delivery.",
        examples=["https://partner.example.org/hooks/mc2cm"],
    ),
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    SINGLE_LINE,
    Field(examples=["Lisbon's city portal: event calendar sync"]),
]


class WebhookCreate(InputModel):
    url: Url
    event_types: EventTypes
    description: Description | None = None


class WebhookUpdate(PatchModel):
    """Fields to change; omitted fields stay. ``active: true`` enables a subscription again
    (disabled by an admin or after repeated failures) and clears its failure count;
    ``active: false`` pauses it. ``description`` can be cleared."""

    nullable = frozenset({"description"})

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None


class WebhookRead(BaseModel):
    id: int
    url: str = Field(examples=["https://partner.example.org/hooks/mc2cm"])
    event_types: list[WebhookEventType]
    description: str | None
    active: bool = Field(description="Whether deliveries are made to it.")
    disabled_at: datetime | None = Field(description="When it stopped being active.")
    disabled_reason: str | None = Field(
        examples=["10 failed deliveries in a row"],
        description="Why it stopped being active: repeated failures, or an admin.",
    )
    consecutive_failures: int = Field(
        description="Failed delivery attempts since the last success."
    )
    created_by: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> Self:
        """The subscription without its secret."""
        return cls(
            id=subscription.id,
            url=subscription.url,
            event_types=[WebhookEventType(t) for t in subscription.event_types],
            description=subscription.description,
            active=subscription.active,
            disabled_at=subscription.disabled_at,
            disabled_reason=subscription.disabled_reason,
            consecutive_failures=subscription.consecutive_failures,
            created_by=subscription.created_by,
            version=subscription.version,
            created_at=subscription.created_at,
            updated_at=subscription.updated_at,
        )


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (Standard Webhooks `whsec_` form). Shown in this "
        "response only: keep it to verify the `webhook-signature` of each delivery.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )

    @classmethod
    def of_new(cls, subscription: WebhookSubscription) -> Self:
        """The subscription just created, with its secret."""
        return cls(
            **WebhookRead.of(subscription).model_dump(),
            secret=subscription.secret,
        )
