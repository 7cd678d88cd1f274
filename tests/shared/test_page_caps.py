"""Every list of both APIs caps its page size: `limit` beyond the cap is a 422 naming `limit`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from shared.auth import Role
from tests.factories import Api, assert_problem

Service = tuple[Api, FastAPI]
#: Lists that take no `limit` because they can never be longer than one page.
BOUNDED_LISTS = {
    "GET /v1/themes": "the nine themes of the shared taxonomy",
    "GET /v1/cities/{code}/sections": "one section a theme plus three, per city",
    "GET /v1/assessment-frameworks": "the versions of a few frameworks, published by admins",
    "GET /v1/cities/{code}/assessments": "a city's few stock-takings, one every year or two",
    "GET /v1/cities/{code}/assessments/{assessment_id}/answers": "one per question of a "
    "framework version, at most 30 areas x 50 indicators x 50 questions by its schema",
}


def operations_with_limit(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of each operation with a `limit` query parameter."""
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            names = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
            if ("query", "limit") in names:
                yield method.upper(), path, operation


def example_url(path: str, operation: dict[str, Any]) -> str:
    """``path`` with each path parameter filled with a value of its type."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        schema = parameter.get("schema", {})
        if schema.get("type") == "integer":
            value = "1"
        elif schema.get("format") == "uuid":
            value = str(uuid.uuid4())
        else:
            value = "PTLIS"
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


def paged_operations(app: FastAPI) -> Iterator[str]:
    """``METHOD path`` of each operation answering with a page (``Page[...]``)."""
    document = app.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            schema = document["components"]["schemas"].get(reference.rsplit("/", 1)[-1], {})
            if "next_cursor" in schema.get("properties", {}):
                yield f"{method.upper()} {path}"


@pytest.fixture(params=["profiles", "dialogue"])
def service(request: pytest.FixtureRequest) -> Service:
    """A client of each API, with its app."""
    if request.param == "profiles":
        return request.getfixturevalue("api"), request.getfixturevalue("profiles_app")
    return request.getfixturevalue("dialogue"), request.getfixturevalue("dialogue_app")


async def test_every_list_refuses_a_limit_beyond_the_cap_naming_limit(service: Service) -> None:
    client, app = service
    cap = client.settings.pagination_max_limit
    checked, uncapped = [], []
    for method, path, operation in operations_with_limit(app):
        url = example_url(path, operation)
        response = await client.request(method, url, params={"limit": cap + 1}, role=Role.admin)
        checked.append(path)
        if response.status_code != 422:
            uncapped.append(f"{method} {path}: {response.status_code}")
            continue
        body = assert_problem(response, 422)
        named = {(error["location"], error["field"]) for error in body["errors"]}
        if ("query", "limit") not in named:
            uncapped.append(f"{method} {path}: 422 naming {named}")
    assert checked, "no operation with a limit parameter found"
    assert not uncapped, uncapped


async def test_a_limit_at_the_cap_is_accepted_by_every_list(service: Service) -> None:
    client, app = service
    cap = client.settings.pagination_max_limit
    refused = []
    for method, path, operation in operations_with_limit(app):
        url = example_url(path, operation)
        response = await client.request(method, url, params={"limit": cap}, role=Role.admin)
        # A made-up parent may be missing (404); the limit itself must not be refused.
        if response.status_code == 422 and any(
            error["field"] == "limit" for error in response.json()["errors"]
        ):
            refused.append(f"{method} {path}")
    assert not refused, refused


async def test_every_paged_list_takes_a_limit_unless_it_is_bounded(service: Service) -> None:
    _, app = service
    with_limit = {f"{method} {path}" for method, path, _ in operations_with_limit(app)}
    unbounded = set(paged_operations(app)) - with_limit - set(BOUNDED_LISTS)
    assert not unbounded, unbounded
