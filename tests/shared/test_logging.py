"""Log lines as a log collector reads them: one JSON object a line, with the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter

from services.profiles_api.db import idempotency_keys
from shared.app import create_service_app
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
