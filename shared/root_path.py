"""Serving an API under a prefix (``MC2CM_ROOT_PATH=/profiles``), behind a proxy that strips
the prefix (the compose proxy) or one that keeps it (an Ingress without rewriting).

The ASGI scope's ``root_path`` is set, and its ``path`` starts with it as the ASGI spec says
(put back when the proxy stripped it): the router matches ``/profiles/v1/...`` and ``/v1/...``
alike, every URL the app builds from the request (a trailing-slash redirect, a problem's
``instance``) names the prefix, and FastAPI names it in the OpenAPI document's ``servers`` and
the docs pages. Every ``Location`` header that is a path of this host gets the prefix too: a
created resource is at ``/profiles/v1/cities/GRATH`` for the caller, not at the
``/v1/cities/GRATH`` the routers write. (FastAPI's own ``root_path`` argument is deprecated in
favour of the server's, and uvicorn's prepends the prefix to every path, which only a
stripping proxy fits.)
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RootPathMiddleware:
    """Serves ``app`` under ``root_path``: the scope's root path, and ``Location`` headers."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")
        self.prefix = self.root_path.encode("latin-1")

    def _located(self, value: bytes) -> bytes:
        relative_to_host = value.startswith(b"/") and not value.startswith(b"//")
        if not relative_to_host or value == self.prefix or value.startswith(self.prefix + b"/"):
            return value
        return self.prefix + value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.prefix:
            await self.app(scope, receive, send)
            return
        scope["root_path"] = self.root_path
        # The ASGI spec's path includes the root path (Starlette strips it to route): a
        # proxy that stripped the prefix sent it without, so it is put back, or redirects
        # (a trailing slash) and the problems' ``instance`` would name a path the caller
        # cannot reach.
        path: str = scope["path"]
        if path != self.root_path and not path.startswith(self.root_path + "/"):
            scope["path"] = self.root_path + path
            raw_path: bytes | None = scope.get("raw_path")
            if raw_path is not None:
                scope["raw_path"] = self.prefix + raw_path

        async def send_located(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, self._located(value) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_located)
