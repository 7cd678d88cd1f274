"""Signed webhooks: every outbox event, of both services, to each active subscription to
its type, the Standard Webhooks way.

The body is the outbox envelope as JSON, stored with the claim so every attempt POSTs the
same bytes. ``webhook-id`` is the delivery's message id (the same on every attempt:
receivers de-duplicate on it), ``webhook-timestamp`` the time of the attempt, and
``webhook-signature`` the ``standardwebhooks`` signature of the three with the
subscription's secret. Any 2xx answer is a success; another status or a network error is a
failed attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from math import floor

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from services.dialogue_api.notifications.schemas import Channel
from services.dialogue_api.notifications.service import Delivery
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.repository import WebhookRepository
from services.worker.context import WorkerContext
from services.worker.notifications.claims import claim_and_enqueue, webhook_key
from shared.contracts.events import OutboxEvent

USER_AGENT = "mc2cm-webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not take the delivery (a non-2xx answer)."""


async def on_outbox_event(worker: WorkerContext, outbox_event: OutboxEvent) -> None:
    """Claim the event's webhook to each active subscription to its type."""
    body = orjson.dumps(outbox_event.model_dump(mode="json")).decode()

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        subscriptions = await WebhookRepository.from_session(session).active_for(outbox_event.type)
        return [
            Delivery(
                delivery_key=webhook_key(outbox_event.id, subscription.id),
                channel=Channel.webhook,
                recipient=subscription.url,
                event_type=outbox_event.type,
                body=body,
                outbox_event_id=outbox_event.id,
                subscription_id=subscription.id,
            )
            for subscription in subscriptions
        ]

    await claim_and_enqueue(worker, build)


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` sent as ``message_id`` at ``at``."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


async def post(
    subscription: WebhookSubscription, message_id: str, body: str, *, timeout: float
) -> None:
    """POST one signed delivery; ``DeliveryFailed`` unless the receiver answers 2xx (and
    ``httpx`` errors for the network's failures)."""
    headers = signed_headers(subscription.secret, message_id, body, datetime.now(UTC))
    headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        response = await client.post(subscription.url, content=body.encode(), headers=headers)
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code} from the receiver")
