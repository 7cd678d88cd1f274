"""Fixtures of the fuzz run: each app's requests inside the test's transaction, one savepoint
an example, each counted for the run's summary (``tests/fuzz/examples.py``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.auth import Role, issue_token
from shared.settings import Settings
from tests.conftest import client_in_transaction
from tests.fuzz import examples

#: The address the apps see the fuzz requests come from (an ASGI scope value, no traffic).
FUZZ_CLIENT = ("127.0.0.77", 40000)


#: What every response must satisfy: no 5xx; status, media type, body and headers as the
#: operation's OpenAPI document declares them; a method the path lacks answered 405 with an
#: `Allow` listing exactly the documented methods. (Refusing invalid input is checked by the
#: CLI against a live stack: here every request carries the caller's token, so a case meant
#: to lack one reads as invalid input accepted.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
    allow_header_conformance,
]


def _header_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _httpx_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis prepares a request in the arguments of ``requests``; httpx names some
    differently (a raw body is ``content``, cookies go in the header)."""
    request: dict[str, Any] = {
        "method": arguments["method"],
        "url": arguments["url"],
        "headers": dict(arguments.get("headers") or {}),
        "params": arguments.get("params"),
    }
    if cookies := arguments.get("cookies"):
        pairs = (f"{name}={value}" for name, value in cookies.items())
        request["headers"]["Cookie"] = "; ".join(pairs)
    # Generated header values may hold any character; on the wire they are bytes (httpx only
    # encodes ASCII itself).
    request["headers"] = {name: _header_bytes(value) for name, value in request["headers"].items()}
    if "json" in arguments:
        # Serialised here, not by httpx: a lone surrogate ("\ud800", which the strategies
        # put in strings) cannot be encoded as UTF-8, but JSON escapes it, as any client may.
        request["content"] = json.dumps(arguments["json"], ensure_ascii=True).encode()
        if not any(name.lower() == "content-type" for name in request["headers"]):
            request["headers"]["Content-Type"] = b"application/json"
    data = arguments.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if arguments.get("files"):
        request["files"] = arguments["files"]
    return request


class Fuzzer:
    """Sends schemathesis cases to one app as one caller; each example's writes are undone."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: httpx.AsyncClient,
        connection: AsyncConnection,
        settings: Settings,
        app_name: str,
    ) -> None:
        self.loop = loop
        self.client = client
        self.connection = connection
        self.settings = settings
        self.app_name = app_name

    def check(self, case: Case, caller: Role | None) -> None:
        """Send ``case`` as ``caller`` (``None``: anonymous) and validate the response."""
        headers = {}
        if caller is not None:
            token = issue_token(self.settings, subject=f"fuzz-{caller.value}@test", role=caller)
            headers["Authorization"] = f"Bearer {token}"
        arguments = case.as_transport_kwargs(base_url=str(self.client.base_url), headers=headers)
        # The test is synchronous (Hypothesis drives it); the app and the connection live on
        # the session's event loop, idle between fixtures, so each request runs to completion
        # on it.
        response = self.loop.run_until_complete(self._send(_httpx_arguments(arguments)))
        examples.count(self.app_name, caller.value if caller else "anonymous")
        case.validate_response(response, checks=CHECKS, headers=headers)

    async def _send(self, request: dict[str, Any]) -> httpx.Response:
        savepoint = await self.connection.begin_nested()
        try:
            return await self.client.request(**request)
        finally:
            await savepoint.rollback()


@asynccontextmanager
async def _fuzzer(
    app: FastAPI, connection: AsyncConnection, settings: Settings, name: str
) -> AsyncIterator[Fuzzer]:
    # A caller of its own (address and token subject), so that whatever the platform counts
    # per caller (rate limits) after thousands of fuzz requests is not charged to other tests.
    async with client_in_transaction(
        app, connection, settings, f"http://{name}.test", client=FUZZ_CLIENT
    ) as api:
        yield Fuzzer(asyncio.get_running_loop(), api.client, connection, settings, name)


@pytest.fixture
async def profiles_fuzzer(
    profiles_app: FastAPI, connection: AsyncConnection, settings: Settings
) -> AsyncIterator[Fuzzer]:
    async with _fuzzer(profiles_app, connection, settings, "profiles") as fuzzer:
        yield fuzzer


@pytest.fixture
async def dialogue_fuzzer(
    dialogue_app: FastAPI, connection: AsyncConnection, settings: Settings
) -> AsyncIterator[Fuzzer]:
    async with _fuzzer(dialogue_app, connection, settings, "dialogue") as fuzzer:
        yield fuzzer
