"""Real receivers for the worker's notifications: an SMTP server and an HTTP endpoint, each on
a free port of this machine, keeping what they accept.

``SmtpSink`` is aiosmtpd's ``Controller`` (its own thread and event loop); it can stall the
first message in the middle of the SMTP conversation, after the DATA command, as a slow
server would, until the test releases it. ``WebhookReceiver`` is a Starlette app served by
uvicorn in the test's loop; it verifies each delivery's signature with the ``standardwebhooks``
library, checks its body against the schema the dialogue's OpenAPI document gives its type
(``webhooks``; a delivery that does not fit fails the test when the receiver closes) and
answers the status the test chose.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from functools import cache
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.dialogue_api.app import create_app as create_dialogue_app
from shared.settings import Environment, Settings
from tests.waiting import eventually

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now (for servers in other processes)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def bound_socket() -> socket.socket:
    """A listening socket on a port of the system's choosing: no other server can take the
    port between choosing it and listening on it."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen(100)
    server.setblocking(False)
    return server


class _Controller(Controller):
    """aiosmtpd's threaded controller serving an already bound socket."""

    def __init__(self, handler: Any, server: socket.socket, **smtp: Any) -> None:
        super().__init__(handler, hostname=HOST, port=server.getsockname()[1], **smtp)
        self._socket = server

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._socket)


class SmtpSink:
    """An SMTP server that keeps every message it accepts (``messages``, parsed) and the
    client address each came from (``peers``); it drops clients idle ``idle_timeout``
    seconds and answers each message ``delay`` seconds after its DATA."""

    def __init__(
        self, *, stall_first: bool = False, idle_timeout: float = 300, delay: float = 0
    ) -> None:
        self.messages: list[EmailMessage] = []
        self.peers: list[Any] = []
        self.conversations = 0
        self.stall_first = stall_first
        #: Seconds each message waits after DATA before it is accepted (a slow server).
        self.delay = delay
        #: Set once a message has reached DATA.
        self.receiving = threading.Event()
        #: Set once the first message is held in the middle of its conversation.
        self.stalled = threading.Event()
        self._release = threading.Event()
        server = bound_socket()
        self.port: int = server.getsockname()[1]
        self._controller = _Controller(self, server, timeout=idle_timeout)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: the message is in; ``250`` accepts it."""
        self.conversations += 1
        self.receiving.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.stall_first and not self.stalled.is_set():
            self.stalled.set()
            while not self._release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Held by the test, not accepted"
        content: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.peers.append(session.peer)
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages accepted for ``address``."""
        return [m for m in self.messages if address in str(m["To"])]

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._controller.stop()


@cache
def dialogue_document() -> dict[str, Any]:
    document: dict[str, Any] = create_dialogue_app(Settings(environment=Environment.test)).openapi()
    return document


def webhook_problems(payload: dict[str, Any]) -> list[str]:
    """Where a delivery's body departs from its type's schema in the dialogue's OpenAPI
    document (``webhooks``), or that the document has no webhook of its type."""
    document = dialogue_document()
    webhook = document["webhooks"].get(str(payload.get("type")))
    if webhook is None:
        return [f"no webhook {payload.get('type')!r} in the OpenAPI document"]
    body = webhook["post"]["requestBody"]["content"]["application/json"]["schema"]
    # The document is the root, so that the body's $refs to its components resolve.
    validator = Draft202012Validator(
        {**document, **body}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = validator.iter_errors(payload)
    return [f"{list(error.absolute_path)}: {error.message}" for error in errors]


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver got it."""

    webhook_id: str
    timestamp: str
    payload: dict[str, Any]
    verified: bool
    at: float


class WebhookReceiver:
    """An HTTP endpoint that verifies Standard Webhooks signatures with ``secret`` (set it once
    the subscription is created) and answers ``status``; with ``checks_deliveries``, every
    verified body must fit the OpenAPI document's ``webhooks`` (``webhook_problems``)."""

    def __init__(self, *, status: int = 204, checks_deliveries: bool = True) -> None:
        self.status = status
        self.checks_deliveries = checks_deliveries
        self.secret: str | None = None
        self.received: list[Received] = []
        #: (type, problems) of each verified delivery: checked when the receiver closes.
        self.invalid: list[tuple[Any, list[str]]] = []
        self._socket = bound_socket()
        self.port: int = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/mc2cm"

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        verified = True
        try:
            assert self.secret is not None, "the test did not give the receiver its secret"
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            verified, payload = False, {}
        if verified and self.checks_deliveries:
            self.invalid += [(payload.get("type"), webhook_problems(payload))]
        self.received.append(
            Received(
                webhook_id=request.headers.get("webhook-id", ""),
                timestamp=request.headers.get("webhook-timestamp", ""),
                payload=payload,
                verified=verified,
                at=time.monotonic(),
            )
        )
        return Response(status_code=self.status if verified else 401)

    async def __aenter__(self) -> WebhookReceiver:
        app = Starlette(routes=[Route("/hooks/mc2cm", self._receive, methods=["POST"])])
        # No log_config or log_level: uvicorn would reconfigure the process's loggers (its
        # own handler, propagation off, uvicorn.error at WARNING) for every later test.
        config = uvicorn.Config(app, host=HOST, port=self.port, log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        server = self._server
        await eventually(lambda: server.started, timeout=5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._task, timeout=10)
        misfits = [(kind, problems) for kind, problems in self.invalid if problems]
        assert not misfits, f"deliveries that do not fit the OpenAPI webhooks: {misfits}"
