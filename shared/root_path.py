"""``Location`` headers under the root path: behind a proxy serving an API at a prefix
(``MC2CM_ROOT_PATH=/profiles``), a created resource is at ``/profiles/v1/cities/GRATH`` for the
caller, not at the ``/v1/cities/GRATH`` the routers write."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RootPathLocationMiddleware:
    """Prefixes every absolute-path ``Location`` header with ``root_path``."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.prefix = root_path.rstrip("/").encode("latin-1")

    def _located(self, value: bytes) -> bytes:
        relative_to_host = value.startswith(b"/") and not value.startswith(b"//")
        if not relative_to_host or value == self.prefix or value.startswith(self.prefix + b"/"):
            return value
        return self.prefix + value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.prefix:
            await self.app(scope, receive, send)
            return

        async def send_located(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, self._located(value) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_located)
