"""Log lines as a log collector reads them: one JSON object a line, with the request id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from services.profiles_api.db import idempotency_keys
from shared.app import create_service_app
from shared.errors import NotFound
from shared.observability import JobRef, configure_logging, job_var
from shared.settings import LogFormat, Settings


@contextmanager
def captured(log_format: str = LogFormat.json) -> Iterator[io.StringIO]:
    """The platform's logging configured onto a stream for the block, restored after."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("INFO", stream, log_format=log_format)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def json_lines(stream: io.StringIO, logger: str = "mc2cm.test") -> list[dict[str, Any]]:
    """Every line parsed; those of ``logger``."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == logger]


async def test_lines_written_for_a_request_are_json_with_its_request_id(
    settings: Settings,
) -> None:
    router = APIRouter()

    @router.get("/v1/log-me", summary="log a line")
    async def log_me() -> dict[str, str]:
        logging.getLogger("mc2cm.test").info("inside the request: %s", "formatted")
        return {"status": "ok"}

    app = create_service_app(
        settings,
        service="logging-test",
        title="t",
        description="t",
        version="0",
        routers=[router],
        openapi_tags=[],
        idempotency_keys=idempotency_keys,
    )
    with captured() as stream:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/v1/log-me", headers={"X-Request-ID": "trace-json-7"})
        logging.getLogger("mc2cm.test").warning("outside any request")

    assert response.status_code == 200, response.text
    inside, outside = json_lines(stream)
    assert set(inside) == {"time", "level", "logger", "message", "request_id"}, inside
    assert inside["level"] == "INFO" and inside["logger"] == "mc2cm.test", inside
    assert inside["message"] == "inside the request: formatted", inside
    assert inside["request_id"] == "trace-json-7", inside
    moment = datetime.fromisoformat(inside["time"])
    assert inside["time"].endswith("Z") and moment.utcoffset() == UTC.utcoffset(None), inside
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60, inside
    assert outside["request_id"] is None and outside["level"] == "WARNING", outside


def test_an_exception_is_logged_with_its_traceback_as_text() -> None:
    with captured() as stream:
        try:
            {}["missing"]  # a real KeyError
        except KeyError:
            logging.getLogger("mc2cm.test").exception("lookup failed")

    (line,) = json_lines(stream)
    assert line["message"] == "lookup failed" and line["level"] == "ERROR", line
    assert line["exc_info"].startswith("Traceback (most recent call last):"), line
    assert "KeyError: 'missing'" in line["exc_info"], line


def test_lines_written_inside_a_job_name_the_job() -> None:
    with captured() as stream:
        token = job_var.set(JobRef("handle_event", "outbox:profiles:42"))
        try:
            logging.getLogger("mc2cm.test").info("handling")
        finally:
            job_var.reset(token)
        logging.getLogger("mc2cm.test").info("after the job")

    inside, after = json_lines(stream)
    assert (inside["job"], inside["job_id"]) == ("handle_event", "outbox:profiles:42"), inside
    assert "job" not in after and "job_id" not in after, after


def test_uvicorn_lines_go_through_the_same_handler() -> None:
    with captured() as stream:
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 123)

    (line,) = json_lines(stream, "uvicorn.error")
    assert line["message"] == "Started server process [123]", line


def test_text_format_is_one_readable_line_with_the_request_id_or_a_dash() -> None:
    with captured(LogFormat.text) as stream:
        logging.getLogger("mc2cm.test").warning("plain words")

    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" WARNING mc2cm.test [-] plain words"), line


def _things_app(settings: Settings) -> FastAPI:
    """An app of the platform's kind with one route of a path parameter, one that fails."""
    router = APIRouter()

    @router.get("/v1/things/{code}", summary="a thing")
    async def thing(code: str) -> dict[str, str]:
        if code == "missing":
            raise NotFound(f"no thing {code}")
        return {"code": code}

    return create_service_app(
        settings,
        service="access-test",
        title="t",
        description="t",
        version="0",
        routers=[router],
        openapi_tags=[],
        idempotency_keys=idempotency_keys,
    )


async def test_each_request_writes_one_access_line_with_its_route_status_and_time(
    settings: Settings,
) -> None:
    app = _things_app(settings)
    with captured() as stream:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            found = await client.get(
                "/v1/things/abc", params={"token": "do-not-log"}, headers={"X-Request-ID": "acc-1"}
            )
            missing = await client.get("/v1/things/missing")
            nowhere = await client.get("/no/such/path")

    assert [found.status_code, missing.status_code, nowhere.status_code] == [200, 404, 404]
    lines = json_lines(stream, "mc2cm.access")
    assert len(lines) == 3, lines
    first, second, third = lines
    assert {key: first[key] for key in ("method", "route", "path", "status")} == {
        "method": "GET",
        "route": "/v1/things/{code}",
        "path": "/v1/things/abc",
        "status": 200,
    }, first
    assert first["level"] == "INFO" and first["request_id"] == "acc-1", first
    assert isinstance(first["duration_ms"], float) and 0 <= first["duration_ms"] < 10_000, first
    assert first["message"] == f"GET /v1/things/abc 200 {first['duration_ms']:.1f} ms", first
    assert "do-not-log" not in json.dumps(lines), "the query string is not logged"
    assert (second["route"], second["status"]) == ("/v1/things/{code}", 404), second
    assert second["request_id"] == missing.headers["x-request-id"], second
    assert (third["route"], third["path"], third["status"]) == (
        "unmatched",
        "/no/such/path",
        404,
    ), third


async def test_the_access_line_in_text_is_the_request_in_a_few_words(settings: Settings) -> None:
    app = _things_app(settings)
    with captured(LogFormat.text) as stream:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/v1/things/abc", headers={"X-Request-ID": "acc-2"})

    (line,) = [line for line in stream.getvalue().splitlines() if " mc2cm.access " in line]
    assert re.search(r" INFO mc2cm\.access \[acc-2\] GET /v1/things/abc 200 \d+\.\d ms$", line), (
        line
    )


@pytest.mark.parametrize(
    "sent", ["trace-4f2a", "a.b_c:d-E9", "x" * 128], ids=["plain", "all-characters", "128"]
)
async def test_a_request_id_of_the_expected_form_is_kept(settings: Settings, sent: str) -> None:
    transport = httpx.ASGITransport(app=_things_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/v1/things/abc", headers={"X-Request-ID": sent})

    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        b"x" * 129,
        b"two words",
        b"<script>alert(1)</script>",
        b'{"injected": true}',
        "caf\u00e9".encode(),
        b"",
    ],
    ids=["129-characters", "space", "markup", "json", "non-ascii", "empty"],
)
async def test_a_request_id_of_another_form_is_replaced_by_a_new_one(
    settings: Settings, sent: bytes
) -> None:
    """What a caller sends as its request id reaches logs and partners' event envelopes."""
    with captured() as stream:
        transport = httpx.ASGITransport(app=_things_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/v1/things/abc", headers={"X-Request-ID": sent})

    given = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", given), given
    (line,) = json_lines(stream, "mc2cm.access")
    assert line["request_id"] == given, line
