"""Request body limits: one ASGI middleware for every service, a 413 problem beyond them.

A body is refused up front when its ``Content-Length`` is over the limit, and otherwise
counted as it arrives (chunked bodies have no length), so neither a JSON body nor a streamed
upload is ever read past its limit. Some operations have their own, larger limit: uploads
(CSV imports, streamed) and batches (observations, up to 5000 in one JSON body).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PayloadTooLarge, render_problem


class BodyTooLarge(HTTPException):
    """Raised while a body is read, past its limit.

    An ``HTTPException`` because FastAPI turns any other error raised while it reads a JSON
    body into a 400; the problem handlers render it as ``body_too_large(limit)``.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=PayloadTooLarge.status)
        self.limit = limit


def body_too_large(limit: int) -> PayloadTooLarge:
    """The 413 of a request body over its operation's limit, naming the limit."""
    return PayloadTooLarge(
        f"The request body is larger than this operation's limit of {limit} bytes.",
        max_body_bytes=limit,
    )


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses a malformed Content-Length before we see it


class BodyLimitMiddleware:
    """Caps each request body at ``default_limit``, or at the limit of its operation's route
    in ``route_limits`` (the first that matches)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        route_limits: Sequence[tuple[BaseRoute, int]] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.route_limits = list(route_limits)

    def limit_of(self, scope: Scope) -> int:
        """The limit of the operation a request is for (matched as the router will)."""
        for route, limit in self.route_limits:
            if route.matches(scope)[0] is Match.FULL:
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            response = render_problem(body_too_large(limit), instance=scope["path"])
            await response(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, receive_within_limit, send)
