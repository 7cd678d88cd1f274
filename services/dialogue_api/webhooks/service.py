"""Webhook subscriptions: partner systems that receive the platform's events, signed.

The network's admins configure them. Each subscription names the event types it receives
(any of both services' outbox events); the worker POSTs each such event to it, signed with
the subscription's secret the Standard Webhooks way, and disables it after
``webhook_disable_after_failures`` failed attempts in a row. The secret is generated here and
shown once, in the answer to its creation.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import HttpUrl
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.repository import WebhookRepository
from services.dialogue_api.webhooks.schemas import WebhookCreate, WebhookUpdate
from shared.auth import Principal
from shared.concurrency import check_if_match
from shared.errors import NotFound, invalid
from shared.outbound import DestinationRefused, OutboundPolicy, check_given_url
from shared.pagination import PageParams

#: Bytes of randomness in a secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _missing(subscription_id: int) -> NotFound:
    return NotFound(f"There is no webhook subscription {subscription_id}.", id=subscription_id)


async def check_url(url: HttpUrl, policy: OutboundPolicy) -> None:
    """A 422 naming ``url`` if deliveries could not go there (``shared.outbound``)."""
    try:
        await check_given_url(url.scheme, url.host or "", url.port or 0, policy)
    except DestinationRefused as refused:
        raise invalid("url", f"webhooks cannot be sent there: {refused}") from None


async def create_subscription(
    session: AsyncSession, principal: Principal, payload: WebhookCreate, policy: OutboundPolicy
) -> WebhookSubscription:
    """Subscribe a partner's URL to event types, with a new secret."""
    await check_url(payload.url, policy)
    subscription = WebhookSubscription(
        url=str(payload.url),
        event_types=[t.value for t in payload.event_types],
        description=payload.description,
        secret=new_secret(),
        created_by=principal.subject,
    )
    repository = WebhookRepository.from_session(session)
    await repository.add(subscription)
    await session.refresh(subscription)
    return subscription


async def get_subscription(session: AsyncSession, subscription_id: int) -> WebhookSubscription:
    """The subscription (404 if there is none)."""
    subscription = await WebhookRepository.from_session(session).get(subscription_id)
    if subscription is None:
        raise _missing(subscription_id)
    return subscription


async def list_subscriptions(
    session: AsyncSession,
    page: PageParams,
    *,
    active: bool | None = None,
    event_type: str | None = None,
) -> Sequence[WebhookSubscription]:
    """A page of the subscriptions, by id."""
    return await WebhookRepository.from_session(session).search(
        page, active=active, event_type=event_type
    )


async def update_subscription(
    session: AsyncSession,
    principal: Principal,
    subscription_id: int,
    payload: WebhookUpdate,
    policy: OutboundPolicy,
    *,
    if_match: str | None,
) -> WebhookSubscription:
    """Change a subscription; enabling it again starts its failure count from zero."""
    repository = WebhookRepository.from_session(session)
    subscription = await repository.for_update(subscription_id)
    if subscription is None:
        raise _missing(subscription_id)
    check_if_match(if_match, subscription.version, resource="webhook subscription")
    changes = payload.changes()
    if "url" in changes:
        await check_url(changes["url"], policy)
        subscription.url = str(changes["url"])
    if "event_types" in changes:
        subscription.event_types = [t.value for t in changes["event_types"]]
    if "description" in changes:
        subscription.description = changes["description"]
    active = changes.get("active")
    if active is True and not subscription.active:
        subscription.active = True
        subscription.disabled_at = None
        subscription.disabled_reason = None
        subscription.consecutive_failures = 0
    elif active is False and subscription.active:
        subscription.active = False
        subscription.disabled_at = datetime.now(UTC)
        subscription.disabled_reason = f"disabled by {principal.subject}"
    await repository.save_changes(subscription, resource="webhook subscription")
    return subscription


async def delete_subscription(
    session: AsyncSession, subscription_id: int, *, if_match: str | None
) -> None:
    """Remove a subscription. Its delivery log stays; deliveries still waiting are skipped."""
    repository = WebhookRepository.from_session(session)
    subscription = await repository.for_update(subscription_id)
    if subscription is None:
        raise _missing(subscription_id)
    check_if_match(if_match, subscription.version, resource="webhook subscription", required=False)
    await repository.skip_waiting_deliveries(subscription_id)
    await repository.delete(subscription)
