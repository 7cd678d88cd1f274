"""HTTP caching of reads, in one place for every route (RFC 9110 §8.8, §13; RFC 9111).

Every ``GET``/``HEAD`` answered ``200`` with a body built whole (one ASGI body message) gets a
strong ``ETag``, the SHA-256 of its bytes with its ``Content-Type`` and ``Content-Language``,
unless the route set its own (an editable resource's version, an edition's content hash). A
request whose ``If-None-Match`` names the tag is answered ``304`` with no body and the same
``ETag``, ``Vary`` and ``Cache-Control``. Streamed bodies (exports) are never buffered: they keep
the weak tag their route set, if any, from the data's version before the first byte; a 304 to
one is answered as soon as its headers are, and the stream is stopped before it reads anything.

``Cache-Control: no-cache`` makes every cache revalidate (read-your-writes stays possible),
``public`` for an anonymous caller and ``private`` for one who sent a token (the answer may then
depend on who asks); every such read says ``Vary: Authorization`` besides the ``Accept`` and
``Accept-Language`` its route or ``shared.i18n`` name. A read that sends a ``Consistency-Token``
(``shared.replicas``) is ``private`` whatever its route says, and every read says
``Vary: Consistency-Token``: a shared cache never answers a read that waits for a write with a
copy it stored before.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.replicas import CONSISTENCY_HEADER

#: Operations paths that are not representations of the platform's data.
UNCACHED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
#: Headers a 304 leaves out: they describe a body it does not have (RFC 9110 §15.4.5).
_BODY_HEADERS = ("content-length", "content-type", "content-disposition")


#: A JSON read's ``generated_at`` says when it was assembled (the profile's), not what it
#: holds: two reads of unchanged data are one version, so it is left out of the tag.
_GENERATED_AT = re.compile(rb'"generated_at":"[^"]*"')


def body_etag(body: bytes, content_type: str = "", content_language: str = "") -> str:
    """A strong entity tag of a representation: SHA-256 of its bytes and media type and
    language (two formats or languages of the same bytes are two representations), its
    ``generated_at`` left out."""
    if b'"generated_at"' in body and content_type.startswith("application/json"):
        body = _GENERATED_AT.sub(b'"generated_at":""', body)
    digest = hashlib.sha256()
    for part in (content_type.encode("latin-1"), content_language.encode("latin-1"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return '"' + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=") + '"'


def weak_etag(*version: object) -> str:
    """A weak entity tag from what identifies the data's version (a streamed export's
    newest change and row count): equal data, equal tag, whatever the bytes' layout."""
    digest = hashlib.sha256(repr(version).encode()).digest()
    return 'W/"' + base64.urlsafe_b64encode(digest[:18]).decode() + '"'


def none_match(if_none_match: str, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag``: ``*``, or the tag compared weakly
    (RFC 9110 §13.1.2: ``W/"x"`` and ``"x"`` are the same there)."""
    opaque = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


class _BodyDropped(Exception):
    """Raised into a streamed response answered 304 so that it stops before its first chunk
    (an export would otherwise read every row for nothing); caught by the middleware."""


def _add_vary(headers: MutableHeaders, *names: str) -> None:
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    added = [name for name in names if name.lower() not in lowered]
    if added:
        headers["Vary"] = ", ".join([*present, *added])


class ConditionalGetMiddleware:
    """``ETag``, ``Cache-Control`` and ``Vary`` on reads, and ``304`` for ``If-None-Match``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in {"GET", "HEAD"}
            or _route_path(scope) in UNCACHED_PATHS
        ):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        if_none_match = request_headers.get("if-none-match")
        # Private to the caller: what a token or a consistency token asks for.
        authenticated = (
            "authorization" in request_headers or CONSISTENCY_HEADER.lower() in request_headers
        )
        private_only = CONSISTENCY_HEADER.lower() in request_headers
        held: Message | None = None
        not_modified = False

        async def send_read(message: Message) -> None:
            nonlocal held, not_modified
            if not_modified:
                # The rest of a body after a 304: dropped.
                return
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                headers = Headers(raw=message.get("headers", []))
                tag = headers.get("etag")
                streamed = "content-length" not in headers
                if streamed and tag and if_none_match and none_match(if_none_match, tag):
                    # A streamed body with its route's tag, named: 304 now, and the stream
                    # is stopped before it reads or builds anything.
                    not_modified = True
                    await self._not_modified(send, message, authenticated, private_only)
                    raise _BodyDropped
                held = message
                return
            if held is None:
                await send(message)
                return
            if message["type"] != "http.response.body":
                # A body sent otherwise (an ASGI extension's `pathsend`): passed on as it is.
                start, held = held, None
                await send(start)
                await send(message)
                return
            start, held = held, None
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            whole = not message.get("more_body", False)
            if whole and "etag" not in headers:
                headers["ETag"] = body_etag(
                    message.get("body", b""),
                    headers.get("content-type", ""),
                    headers.get("content-language", ""),
                )
            _cache_headers(headers, authenticated, private_only)
            tag = headers.get("etag")
            if tag is not None and if_none_match is not None and none_match(if_none_match, tag):
                not_modified = True
                await self._not_modified(
                    send, {**start, "headers": headers.raw}, authenticated, private_only
                )
                return
            await send({**start, "headers": headers.raw})
            await send(message)

        try:
            await self.app(scope, receive, send_read)
        except _BodyDropped:
            if not not_modified:
                raise

    @staticmethod
    async def _not_modified(
        send: Send, start: Message, authenticated: bool, private_only: bool
    ) -> None:
        """A 304 for ``start``'s 200: its headers but those of a body, and no body."""
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        _cache_headers(headers, authenticated, private_only)
        for name in _BODY_HEADERS:
            del headers[name]
        await send({**start, "status": 304, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})


def _cache_headers(headers: MutableHeaders, authenticated: bool, private_only: bool) -> None:
    """``Cache-Control`` (unless the route set its own, made ``private`` for a read of
    ``private_only``) and ``Vary: Authorization, Consistency-Token``."""
    if "cache-control" not in headers:
        headers["Cache-Control"] = "no-cache, " + ("private" if authenticated else "public")
    elif private_only:
        directives = [
            directive.strip()
            for directive in headers["cache-control"].split(",")
            if directive.strip() and directive.strip().lower() not in {"public", "private"}
        ]
        headers["Cache-Control"] = ", ".join([*directives, "private"])
    _add_vary(headers, "Authorization", CONSISTENCY_HEADER)


def _route_path(scope: Scope) -> str:
    """The request's path without the API's root path (``shared.root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path.removeprefix(root) if root and path.startswith(root) else path
