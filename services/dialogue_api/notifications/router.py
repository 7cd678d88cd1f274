from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.dialogue_api.notifications import service
from services.dialogue_api.notifications.repository import NotificationFilters
from services.dialogue_api.notifications.schemas import Channel, DeliveryStatus, NotificationRead
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    summary="List deliveries of e-mails and webhooks",
    description="Admins only. The delivery log, oldest first: each e-mail and webhook "
    "delivery with its attempts, status and last error.",
    response_model=Page[NotificationRead],
    responses=problem_responses(401, 403),
)
async def list_notifications(
    session: SessionDep,
    page: PageDep,
    principal: AdminPrincipal,
    channel: Annotated[Channel | None, Query()] = None,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    event_type: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="An outbox event type, `reminder.event` or `reminder.action`.",
            examples=["registration.changed"],
        ),
    ] = None,
    recipient: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2000,
            description="An e-mail address or a webhook URL, exactly.",
            examples=["ana.ferreira@example.org"],
        ),
    ] = None,
    person: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    subscription: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[NotificationRead]:
    filters = NotificationFilters(
        channel=channel.value if channel else None,
        status=status.value if status else None,
        event_type=event_type,
        recipient=recipient,
        person_id=person,
        subscription_id=subscription,
    )
    found = await service.list_notifications(session, page, filters)
    return build_page(
        found, page, key=lambda notification: [notification.id], item=NotificationRead.of
    )


@router.get(
    "/{notification_id}",
    summary="Get one delivery",
    description="Admins only.",
    response_model=NotificationRead,
    responses=problem_responses(401, 403, 404),
)
async def get_notification(
    notification_id: NotificationId, session: SessionDep, principal: AdminPrincipal
) -> NotificationRead:
    return NotificationRead.of(await service.get_notification(session, notification_id))
