"""Operations endpoints of the profiles app: health, readiness, metrics and request ids."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter
from sqlalchemy.engine import make_url

from services.profiles_api.app import create_app
from services.profiles_api.db import idempotency_keys
from shared.app import create_service_app
from shared.observability import configure_logging
from shared.settings import Settings
from tests.conftest import make_settings
from tests.factories import Api, closed_port
from tests.shared.test_problems import assert_problem


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a profiles app built for ``settings``, its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as client:
            yield client


async def test_healthz_answers_while_the_process_is_up(api: Api) -> None:
    response = await api.get("/healthz")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_postgresql_and_redis_ok(api: Api) -> None:
    response = await api.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"postgresql": "ok", "redis": "ok"}}


async def test_readyz_is_a_503_problem_naming_redis_when_redis_is_down(
    database_url: str,
) -> None:
    settings = make_settings(database_url, f"redis://127.0.0.1:{closed_port()}/0")

    async with running_app(settings) as client:
        response = await client.get("/readyz")

    body = assert_problem(response, 503, instance="/readyz")
    assert body["checks"]["postgresql"] == "ok", body
    assert body["checks"]["redis"].startswith("down"), body
    assert "redis" in body["detail"] and "postgresql" not in body["detail"], body


async def test_readyz_is_a_503_problem_naming_postgresql_when_the_database_is_down(
    database_url: str, server_urls: tuple[str, str]
) -> None:
    unreachable = make_url(database_url).set(host="127.0.0.1", port=closed_port(), query={})
    settings = make_settings(unreachable.render_as_string(False), server_urls[1])

    async with running_app(settings) as client:
        response = await client.get("/readyz")
        health = await client.get("/healthz")

    body = assert_problem(response, 503, instance="/readyz")
    assert body["checks"] == {"postgresql": body["checks"]["postgresql"], "redis": "ok"}, body
    assert body["checks"]["postgresql"].startswith("down"), body
    assert "postgresql" in body["detail"], body
    # Liveness does not depend on the database: the process should not be restarted for it.
    assert health.status_code == 200, health.text


def _requests_total(metrics: str) -> dict[tuple[str, str, str], float]:
    """``mc2cm_http_requests_total`` samples by (method, route, status)."""
    samples: dict[tuple[str, str, str], float] = {}
    for line in metrics.splitlines():
        if not line.startswith("mc2cm_http_requests_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
        samples[labels["method"], labels["route"], labels["status"]] = float(line.split()[-1])
    return samples


async def test_metrics_count_requests_by_route_template_not_by_path(api: Api) -> None:
    before = _requests_total((await api.get("/metrics")).text)

    await api.get("/v1/cities/PTLIS")
    await api.get("/v1/cities/ITTRN")
    await api.get("/v1/cities/XXABC")
    await api.get("/v1/scanner/probe/1")
    response = await api.get("/metrics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    after = _requests_total(response.text)

    def grew(key: tuple[str, str, str]) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew(("GET", "/v1/cities/{code}", "200")) == 2, after
    assert grew(("GET", "/v1/cities/{code}", "404")) == 1, after
    assert grew(("GET", "unmatched", "404")) == 1, after
    assert not [route for (_, route, _) in after if "PTLIS" in route or "probe" in route], after
    assert 'service="profiles"' in response.text


async def test_metrics_expose_request_latency(api: Api) -> None:
    await api.get("/healthz")

    response = await api.get("/metrics")

    assert (
        'mc2cm_http_request_duration_seconds_count{method="GET",route="/healthz"' in response.text
    )


async def test_request_id_sent_by_the_caller_is_echoed(api: Api) -> None:
    response = await api.get("/v1/themes", headers={"X-Request-ID": "trace-4f2a"})

    assert response.headers.get("x-request-id") == "trace-4f2a", response.headers


async def test_request_id_is_generated_when_the_caller_sends_none(api: Api) -> None:
    first = await api.get("/healthz")
    second = await api.get("/healthz")

    ids = [first.headers.get("x-request-id"), second.headers.get("x-request-id")]
    assert all(i and re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert ids[0] != ids[1], ids


async def test_request_id_is_on_error_responses_too(api: Api) -> None:
    response = await api.get("/v1/cities/XXABC", headers={"X-Request-ID": "trace-404"})

    assert response.status_code == 404
    assert response.headers.get("x-request-id") == "trace-404", response.headers


async def test_log_lines_written_while_serving_a_request_carry_its_request_id(
    settings: Settings,
) -> None:
    router = APIRouter()

    @router.get("/v1/log-me", summary="log a line")
    async def log_me() -> dict[str, str]:
        logging.getLogger("mc2cm.test").warning("inside the request")
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
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("INFO", stream, log_format="text")
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/v1/log-me", headers={"X-Request-ID": "trace-me-42"})
        logging.getLogger("mc2cm.test").warning("outside any request")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    assert response.status_code == 200, response.text
    lines = stream.getvalue().splitlines()
    assert any("[trace-me-42] inside the request" in line for line in lines), lines
    assert any("[-] outside any request" in line for line in lines), lines
