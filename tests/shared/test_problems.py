"""Every error the API can give is an RFC 9457 problem document (shared/errors.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.profiles_api.db import idempotency_keys
from shared.app import create_service_app
from shared.errors import NotFound
from shared.problem_handlers import database_problem
from shared.settings import Settings
from tests.factories import Api, assert_problem


def field_errors(body: dict[str, Any]) -> set[tuple[str, str]]:
    """The (location, field) pairs a 422 names."""
    return {(error["location"], error["field"]) for error in body["errors"]}


async def test_unknown_route_is_a_404_problem_titled_like_other_not_found_errors(
    api: Api,
) -> None:
    response = await api.get("/v1/no-such-collection")

    body = assert_problem(response, 404, instance="/v1/no-such-collection")
    assert body["type"] == "urn:mc2cm:problem:not-found", body
    # One problem type, one title: the router's 404 reads like a service's NotFound.
    assert body["title"] == NotFound.title, body


async def test_wrong_method_is_a_405_problem_listing_the_allowed_methods(api: Api) -> None:
    response = await api.delete("/v1/themes")

    body = assert_problem(response, 405, instance="/v1/themes")
    assert body["type"] == "urn:mc2cm:problem:method-not-allowed", body
    assert "GET" in response.headers.get("allow", ""), response.headers
    assert "DELETE" in body["detail"], body


async def test_invalid_body_names_each_bad_field_with_a_pointer(api: Api) -> None:
    response = await api.post(
        "/v1/sources",
        role=Api.ADMIN,
        json={"title": "", "kind": "tarot", "url": "ftp://x", "colour": "blue"},
    )

    body = assert_problem(response, 422, instance="/v1/sources")
    assert body["type"] == "urn:mc2cm:problem:validation-error", body
    assert field_errors(body) == {
        ("body", "title"),
        ("body", "kind"),
        ("body", "url"),
        ("body", "colour"),
    }, body["errors"]
    pointers = {error["field"]: error["pointer"] for error in body["errors"]}
    assert pointers["title"] == "/title", pointers
    for name in ("title", "kind", "url", "colour"):
        assert name in body["detail"], body["detail"]


async def test_invalid_nested_body_field_is_named_by_its_dotted_path(api: Api) -> None:
    city = {
        "code": "PTPRT",
        "names": {"en": "Porto"},
        "country": "PT",
        "region": "europe",
        "timezone": "Europe/Lisbon",
        "membership": {"status": "honorary"},
    }
    response = await api.post("/v1/cities", role=Api.ADMIN, json=city)

    body = assert_problem(response, 422, instance="/v1/cities")
    assert field_errors(body) == {("body", "membership.status")}, body["errors"]
    assert body["errors"][0]["pointer"] == "/membership/status", body["errors"]


async def test_invalid_query_parameters_are_each_named_with_location_query(api: Api) -> None:
    response = await api.get("/v1/cities", params={"membership": "honorary", "limit": "0"})

    body = assert_problem(response, 422, instance="/v1/cities")
    assert field_errors(body) == {("query", "membership"), ("query", "limit")}, body["errors"]
    assert all("pointer" not in error or error["pointer"] is None for error in body["errors"])


async def test_invalid_path_parameter_is_named_with_location_path(api: Api) -> None:
    response = await api.get("/v1/sources/first")

    body = assert_problem(response, 422, instance="/v1/sources/first")
    assert field_errors(body) == {("path", "source_id")}, body["errors"]


async def test_malformed_json_is_a_422_about_the_whole_body(api: Api) -> None:
    response = await api.post(
        "/v1/sources",
        role=Api.ADMIN,
        content=b'{"title": "Census", "kind":',
        headers={"Content-Type": "application/json"},
    )

    body = assert_problem(response, 422, instance="/v1/sources")
    # The position of the syntax error is not a field name.
    assert field_errors(body) == {("body", "")}, body["errors"]
    assert "JSON" in body["errors"][0]["detail"], body["errors"]


async def test_json_body_that_is_not_utf8_is_a_422_about_the_whole_body(api: Api) -> None:
    response = await api.post(
        "/v1/sources",
        role=Api.ADMIN,
        content=b'{"title": "Censo \xe9"}',
        headers={"Content-Type": "application/json"},
    )

    # Undocumented 400 before: the same malformed input as a JSON syntax error.
    body = assert_problem(response, 422, instance="/v1/sources")
    assert field_errors(body) == {("body", "")}, body["errors"]
    assert "UTF-8" in body["errors"][0]["detail"], body["errors"]


async def test_domain_error_keeps_its_detail_and_extensions(api: Api) -> None:
    response = await api.get("/v1/cities/XXABC")

    body = assert_problem(response, 404, instance="/v1/cities/XXABC")
    assert body["title"] == NotFound.title, body
    assert "XXABC" in body["detail"], body


def _failing_app(settings: Settings) -> httpx.AsyncClient:
    router = APIRouter()

    @router.get("/v1/explode", summary="Fails", tags=["test"])
    async def explode() -> None:
        raise RuntimeError("password=hunter2 at db-primary.internal:5432")

    app = create_service_app(
        settings,
        service="problems-test",
        title="t",
        description="t",
        version="0",
        routers=[router],
        openapi_tags=[],
        idempotency_keys=idempotency_keys,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://problems.test")


async def test_unexpected_error_is_a_500_problem_that_does_not_leak_the_exception(
    settings: Settings,
) -> None:
    async with _failing_app(settings) as client:
        response = await client.get("/v1/explode", headers={"X-Request-ID": "support-ticket-7"})

    body = assert_problem(response, 500, instance="/v1/explode")
    assert body["type"] == "urn:mc2cm:problem:internal-error", body
    for secret in ("hunter2", "db-primary", "RuntimeError", "Traceback"):
        assert secret not in response.text, f"{secret!r} leaked: {response.text}"
    # The request id is what a caller quotes to support: a 500 must carry it too.
    assert response.headers.get("x-request-id") == "support-ticket-7", response.headers


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field", "location"),
    [
        ("GET", "/v1/sources", {"params": {"q": "a\x00b"}}, "q", "query"),
        ("GET", "/v1/observations", {"params": {"city": "\x00"}}, "city", "query"),
        ("GET", "/v1/observations", {"params": {"dimension": "sex=F\x00"}}, "dimension", "query"),
        (
            "POST",
            "/v1/sources",
            {"json": {"title": "a\x00b", "kind": "census"}, "role": Api.ADMIN},
            "title",
            "body",
        ),
        (
            "POST",
            "/v1/cities/PTLIS/challenges",
            {
                "json": {
                    "theme": "health",
                    "need_type": "resources",
                    "description": {"en": "Clinics\x00"},
                },
                "role": Api.ADMIN,
            },
            "description",
            "body",
        ),
    ],
)
async def test_nul_character_is_a_422_naming_the_field_not_a_database_error(
    api: Api, method: str, path: str, kwargs: dict[str, Any], field: str, location: str
) -> None:
    response = await api.request(method, path, **kwargs)

    body = assert_problem(response, 422, instance=path)
    assert [(e["field"], e["location"]) for e in body["errors"]] == [(field, location)], body


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (asyncpg.exceptions.NumericValueOutOfRangeError("out of range"), 422),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), 409),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), 503),
        (asyncpg.exceptions.SerializationError("serialization"), 503),
        (asyncpg.exceptions.QueryCanceledError("statement timeout"), 503),
        (asyncpg.exceptions.ConnectionDoesNotExistError("gone"), 503),
        (ConnectionRefusedError("refused"), 503),
        (TimeoutError(), 503),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), 503),
        (asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"), 503),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), 503),
        (PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), 503),
        (asyncpg.exceptions.UndefinedTableError("no such table"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
    ],
)
def test_database_errors_reach_the_caller_by_their_class(
    error: BaseException, status: int | None
) -> None:
    problem = database_problem(error)

    assert (problem.status if problem else None) == status, (error, problem)
    if problem is not None and status == 503:
        assert "Retry-After" in problem.headers, problem.headers
