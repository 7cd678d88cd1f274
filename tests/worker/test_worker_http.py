"""The worker's outbound HTTP: webhooks reuse the worker's connections to the same
destination, never a connection made for another name at the same address, and a call's
client closing leaves them open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.dialogue_api.notifications.webhooks import post
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.worker.http import WorkerHttp
from shared.outbound import OutboundPolicy
from tests.worker.receivers import HOST

PRIVATE_ALLOWED = OutboundPolicy(allow_private=True, require_https=False)
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """An HTTP/1.1 endpoint that keeps connections open and records, for each request, the
    connection it came on (its number) and its ``Host``."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, str]] = []
        self.connections = 0
        self.open = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        connection = self.connections
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                fields = {name.lower(): value for name, value in headers.items()}
                await reader.readexactly(int(fields.get("content-length", "0")))
                self.requests.append((connection, fields["host"]))
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as server:
        yield server


async def send(http: WorkerHttp, url: str, message_id: str) -> None:
    subscription = WebhookSubscription(url=url, event_types=["event.changed"], secret=SECRET)
    await post(subscription, message_id, "{}", timeout=5, policy=PRIVATE_ALLOWED, http=http)


async def test_calls_to_one_destination_reuse_the_workers_connection(receiver: Receiver) -> None:
    http = WorkerHttp()
    url = f"http://{HOST}:{receiver.port}/hooks"
    for n in range(3):
        await send(http, url, f"msg_{n}")
    assert receiver.requests == [(1, f"{HOST}:{receiver.port}")] * 3
    # Each call's client was closed; the worker's connection stayed open until now.
    assert receiver.open == 1
    await http.close()
    await asyncio.sleep(0.1)
    assert receiver.open == 0


async def test_another_name_at_the_same_address_gets_a_connection_of_its_own(
    receiver: Receiver,
) -> None:
    http = WorkerHttp()
    by_address = f"http://{HOST}:{receiver.port}/hooks"
    by_name = f"http://localhost:{receiver.port}/hooks"
    try:
        await send(http, by_address, "msg_1")
        await send(http, by_name, "msg_2")
        await send(http, by_address, "msg_3")
        await send(http, by_name, "msg_4")
    finally:
        await http.close()
    first, second = receiver.requests[0][0], receiver.requests[1][0]
    assert first != second
    assert receiver.requests == [
        (first, f"{HOST}:{receiver.port}"),
        (second, f"localhost:{receiver.port}"),
        (first, f"{HOST}:{receiver.port}"),
        (second, f"localhost:{receiver.port}"),
    ]
