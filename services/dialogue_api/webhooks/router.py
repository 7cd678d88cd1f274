from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.dialogue_api.webhooks import service
from services.dialogue_api.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookEventType,
    WebhookRead,
    WebhookUpdate,
)
from shared.auth import AdminPrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.outbound import OutboundPolicy
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
SubscriptionId = Annotated[int, Path(ge=1, le=2**63 - 1)]

SIGNING = (
    "Each delivery is a POST of the outbox event's envelope (`id`, `type`, `source`, "
    "`occurred_at`, `actor`, `data`) as JSON, signed the Standard Webhooks way: "
    "`webhook-id` (the same on every retry of one delivery: de-duplicate on it), "
    "`webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the base64 "
    "HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with the secret's decoded "
    "bytes). Any 2xx answer within the timeout is a success; anything else is retried with "
    "exponential backoff, and the subscription is disabled after repeated failures."
)


@router.post(
    "",
    summary="Subscribe a partner system to events",
    description="Admins only. The answer holds the signing `secret`, shown this once. " + SIGNING,
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(401, 403),
)
async def create_webhook(
    request: Request,
    payload: WebhookCreate,
    session: SessionDep,
    principal: AdminPrincipal,
    response: Response,
) -> WebhookCreated:
    policy = OutboundPolicy.of(request.app.state.settings)
    subscription = await service.create_subscription(session, principal, payload, policy)
    response.headers["Location"] = f"/v1/webhooks/{subscription.id}"
    return represented(response, WebhookCreated.of_new(subscription))


@router.get(
    "",
    summary="List webhook subscriptions",
    description="Admins only; in order of id, without their secrets.",
    response_model=Page[WebhookRead],
    responses=problem_responses(401, 403),
)
async def list_webhooks(
    session: SessionDep,
    page: PageDep,
    principal: AdminPrincipal,
    active: Annotated[bool | None, Query(description="Active or disabled ones only.")] = None,
    event_type: Annotated[
        WebhookEventType | None, Query(description="Those subscribed to this event type.")
    ] = None,
) -> Page[WebhookRead]:
    found = await service.list_subscriptions(
        session, page, active=active, event_type=event_type.value if event_type else None
    )
    return build_page(found, page, key=lambda subscription: [subscription.id], item=WebhookRead.of)


@router.get(
    "/{subscription_id}",
    summary="Get a webhook subscription",
    description="Admins only; without its secret.",
    response_model=WebhookRead,
    responses=problem_responses(401, 403, 404),
)
async def get_webhook(
    subscription_id: SubscriptionId,
    session: SessionDep,
    principal: AdminPrincipal,
    response: Response,
) -> WebhookRead:
    subscription = await service.get_subscription(session, subscription_id)
    return represented(response, WebhookRead.of(subscription))


@router.patch(
    "/{subscription_id}",
    summary="Change a webhook subscription, or enable it again",
    description="Admins only. `active: true` enables a disabled subscription and clears its "
    "failure count; deliveries it missed while disabled are not sent again.",
    response_model=WebhookRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_webhook(
    request: Request,
    subscription_id: SubscriptionId,
    payload: WebhookUpdate,
    session: SessionDep,
    principal: AdminPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
) -> WebhookRead:
    policy = OutboundPolicy.of(request.app.state.settings)
    subscription = await service.update_subscription(
        session, principal, subscription_id, payload, policy, if_match=if_match
    )
    return represented(response, WebhookRead.of(subscription))


@router.delete(
    "/{subscription_id}",
    summary="Remove a webhook subscription",
    description="Admins only. Its delivery log stays; deliveries still waiting are skipped.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 412),
)
async def delete_webhook(
    subscription_id: SubscriptionId,
    session: SessionDep,
    principal: AdminPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_subscription(session, subscription_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
