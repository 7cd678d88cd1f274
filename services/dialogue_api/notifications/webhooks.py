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

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from math import floor

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from services.dialogue_api.notifications.claims import claim_and_enqueue, webhook_key
from services.dialogue_api.notifications.schemas import Channel
from services.dialogue_api.notifications.service import Delivery
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.repository import WebhookRepository
from shared.contracts.events import OutboxEvent
from shared.jobs import HttpClients, JobContext, OutboundHttp
from shared.outbound import (
    DestinationRefused,
    IPAddress,
    OutboundPolicy,
    check_scheme,
    resolve,
)

USER_AGENT = "mc2cm-webhooks/1"


class DeliveryFailed(Exception):
    """The receiver did not take the delivery (a non-2xx answer)."""


async def on_outbox_event(worker: JobContext, outbox_event: OutboxEvent) -> None:
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
    subscription: WebhookSubscription,
    message_id: str,
    body: str,
    *,
    timeout: float,
    policy: OutboundPolicy,
    http: HttpClients | None = None,
) -> None:
    """POST one signed delivery; ``DeliveryFailed`` unless the receiver answers 2xx within
    ``timeout`` seconds in all (and ``httpx`` errors for the network's failures).

    The receiver's name is resolved and each of its addresses checked first
    (``shared.outbound``): a name that now leads into a private network is not called. The
    call goes to the address checked, with the name in ``Host`` and in TLS (SNI and the
    certificate's check). Redirects are not followed. The client is ``http``'s (the
    worker's, ``JobContext.http``), by default one of ``shared.jobs.OutboundHttp``.
    """
    url = httpx.URL(subscription.url)
    headers = signed_headers(subscription.secret, message_id, body, datetime.now(UTC))
    headers |= {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": url.netloc.decode("ascii"),
    }
    try:
        # One deadline for everything: httpx's timeouts bound each read, not the whole call,
        # so a receiver dripping its answer could otherwise hold the worker indefinitely.
        async with asyncio.timeout(timeout):
            addresses = await _checked_addresses(url, policy)
            extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
            async with (http or OutboundHttp()).client(timeout=timeout) as client:
                for address in addresses:
                    try:
                        response = await client.post(
                            url.copy_with(host=str(address)),
                            content=body.encode(),
                            headers=headers,
                            extensions=extensions,
                        )
                        break
                    except httpx.ConnectError:
                        # As a browser would, try the name's next address (IPv4 after IPv6).
                        if address == addresses[-1]:
                            raise
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {timeout:g} s") from None
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code} from the receiver")


async def _checked_addresses(url: httpx.URL, policy: OutboundPolicy) -> tuple[IPAddress, ...]:
    """The addresses to call for ``url``: those its host resolves to, all of them allowed."""
    try:
        check_scheme(url.scheme, require_https=policy.require_https)
        destination = await resolve(url.host, url.port or 0, allow_private=policy.allow_private)
    except DestinationRefused as refused:
        raise DeliveryFailed(f"not sent: {refused}") from None
    except OSError as exc:
        raise DeliveryFailed(f"cannot resolve {url.host}: {exc}") from None
    if not destination.addresses:
        raise DeliveryFailed(f"{url.host} resolves to no address")
    return destination.addresses
