"""Webhook deliveries go only where they may: public addresses, checked when sent; every call
bounded by one total timeout; redirects not followed."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, func, update

from services.dialogue_api.db import outbox as dialogue_outbox
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.notifications.webhooks import DeliveryFailed, post
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.schemas import WebhookEventType
from services.profiles_api.db import outbox as profiles_outbox
from shared.auth import Role
from shared.db import Database
from shared.outbound import OutboundPolicy
from tests.dialogue.factories import create_event
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.receivers import (
    HOST,
    WebhookReceiver,
    bound_socket,
    dialogue_document,
    webhook_problems,
)

PRIVATE_REFUSED = OutboundPolicy(allow_private=False, require_https=False)
PRIVATE_ALLOWED = OutboundPolicy(allow_private=True, require_https=False)
#: The recorded reason; ``localhost`` may resolve to either loopback address first.
LOCALHOST_REFUSED = r"not sent: localhost resolves to (127\.0\.0\.1|::1), a loopback address"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def subscription_to(url: str) -> WebhookSubscription:
    return WebhookSubscription(url=url, event_types=["event.changed"], secret=SECRET)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    # The tests here post bodies of their own, not the platform's deliveries.
    async with WebhookReceiver(checks_deliveries=False) as server:
        server.secret = SECRET
        yield server


async def test_a_receiver_on_a_private_address_is_not_called(receiver: WebhookReceiver) -> None:
    with pytest.raises(DeliveryFailed, match=r"not sent: 127\.0\.0\.1, a loopback address"):
        await post(subscription_to(receiver.url), "msg_1", "{}", timeout=5, policy=PRIVATE_REFUSED)
    assert receiver.received == []


async def test_a_name_resolving_to_loopback_when_sent_is_not_called(
    receiver: WebhookReceiver,
) -> None:
    url = f"http://localhost:{receiver.port}/hooks/mc2cm"
    with pytest.raises(DeliveryFailed, match=LOCALHOST_REFUSED):
        await post(subscription_to(url), "msg_1", "{}", timeout=5, policy=PRIVATE_REFUSED)
    assert receiver.received == []


async def test_allowed_private_networks_are_called_by_name_with_its_host_header(
    receiver: WebhookReceiver,
) -> None:
    url = f"http://localhost:{receiver.port}/hooks/mc2cm"
    await post(subscription_to(url), "msg_1", '{"id": 1}', timeout=5, policy=PRIVATE_ALLOWED)
    (received,) = receiver.received
    assert received.verified, received
    assert received.webhook_id == "msg_1"


async def test_redirects_are_not_followed(receiver: WebhookReceiver) -> None:
    receiver.status = 307
    with pytest.raises(DeliveryFailed, match="HTTP 307"):
        await post(subscription_to(receiver.url), "msg_1", "{}", timeout=5, policy=PRIVATE_ALLOWED)
    assert len(receiver.received) == 1


async def test_a_receiver_answering_drop_by_drop_is_cut_off_at_the_total_timeout() -> None:
    # Each byte comes well within any read timeout; the whole answer would take 20 s.
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)
        writer.close()

    server = await asyncio.start_server(drip, sock=bound_socket())
    port = server.sockets[0].getsockname()[1]
    started = time.perf_counter()
    try:
        with pytest.raises(DeliveryFailed, match="no answer within 1 s"):
            await post(
                subscription_to(f"http://{HOST}:{port}/hooks"),
                "msg_1",
                "{}",
                timeout=1,
                policy=PRIVATE_ALLOWED,
            )
    finally:
        server.close()
    elapsed = time.perf_counter() - started
    assert elapsed < 2, f"the call lasted {elapsed:.2f} s with a 1 s timeout"


@pytest.fixture
async def quiet(platform: Platform) -> AsyncIterator[None]:
    """No subscription, waiting delivery or unrelayed event left by another test."""
    database = Database.from_settings(platform.settings, application_name="test-destinations")
    try:
        async with database.sessionmaker() as session, session.begin():
            await session.execute(
                update(Notification)
                .where(Notification.status == "pending")
                .values(status="skipped", last_error="left by an earlier test")
            )
            await session.execute(delete(WebhookSubscription))
            for table in (dialogue_outbox, profiles_outbox):
                await session.execute(
                    update(table)
                    .where(table.c.handled_at.is_(None))
                    .values(relayed_at=func.now(), handled_at=func.now())
                )
        yield
    finally:
        await database.dispose()


async def test_a_delivery_to_a_name_now_resolving_to_loopback_fails_with_the_reason_recorded(
    platform: Platform, receiver: WebhookReceiver, quiet: None
) -> None:
    # Accepted where private networks are allowed; then the worker runs where they are not.
    response = await platform.dialogue.post(
        "/v1/webhooks",
        role=Role.admin,
        json={
            "url": f"http://localhost:{receiver.port}/hooks/mc2cm",
            "event_types": ["event.changed"],
        },
    )
    assert response.status_code == 201, response.text
    subscription: dict[str, Any] = response.json()

    async with platform.worker(webhook_allow_private_networks=False, delivery_max_attempts=1):
        await create_event(platform.dialogue)

        async def failed() -> list[dict[str, Any]]:
            found = await platform.dialogue.get(
                f"/v1/notifications?subscription={subscription['id']}", role=Role.admin
            )
            items: list[dict[str, Any]] = found.json()["items"]
            return items if items and items[0]["status"] == "failed" else []

        (delivery,) = await eventually(failed)

    assert re.fullmatch(LOCALHOST_REFUSED, delivery["last_error"]), delivery
    assert receiver.received == []


def test_the_dialogue_document_gives_each_event_type_a_webhook_schema() -> None:
    # Every delivery the receivers take is checked against these (tests/worker/receivers.py).
    delivery = {
        "id": "0b6f2b9e-7f1c-4c63-9d1a-5f0e0c2a4b11",
        "type": "city.deleted",
        "source": "profiles",
        "occurred_at": "2026-12-05T10:00:00Z",
        "actor": None,
        "request_id": None,
        "data": {"code": "PTLIS"},
    }

    assert {event_type.value for event_type in WebhookEventType} == set(
        dialogue_document()["webhooks"]
    )
    assert webhook_problems(delivery) == []
    assert webhook_problems({**delivery, "data": {"code": "PTLIS", "extra": 1}}), "extra field"
    assert webhook_problems({**delivery, "type": "city.renamed"}), "unknown type"
