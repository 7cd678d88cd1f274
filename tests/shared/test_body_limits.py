"""Request bodies are capped: JSON bodies and CSV imports each at their own limit (a 413)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app
from shared.auth import Role
from shared.openapi import render_openapi
from tests.conftest import client_in_transaction, make_settings
from tests.factories import Api, assert_problem, csv_file
from tests.profiles.test_imports import row
from tests.profiles.test_observations import vienna

JSON_LIMIT = 2_000
IMPORT_LIMIT = 8_000
BATCH_LIMIT = 6_000
SOURCE = {
    "title": "Body limit test source",
    "publisher": "Stadt Wien",
    "url": "https://www.wien.gv.at/statistik/",
    "kind": "register",
}


@pytest.fixture(scope="module")
async def small_bodies_app(
    database_url: str, server_urls: tuple[str, str]
) -> AsyncIterator[FastAPI]:
    """The profiles app of a deployment with small body limits."""
    settings = make_settings(
        database_url,
        server_urls[1],
        max_json_body_bytes=JSON_LIMIT,
        max_import_body_bytes=IMPORT_LIMIT,
        max_batch_body_bytes=BATCH_LIMIT,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def small(small_bodies_app: FastAPI, connection: AsyncConnection) -> AsyncIterator[Api]:
    async with client_in_transaction(
        small_bodies_app, connection, small_bodies_app.state.settings, "http://small.test"
    ) as client:
        yield client


async def chunks(data: bytes, size: int = 500) -> AsyncIterator[bytes]:
    """``data`` sent chunked, without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def source_body(size: int) -> dict[str, Any]:
    """A source whose JSON body is ``size`` bytes long (its URL pads it)."""
    base = len(json.dumps(SOURCE | {"url": ""}).encode())
    return SOURCE | {"url": "https://www.wien.gv.at/?" + "q" * (size - base - 24)}


def assert_too_large(response: Any, limit: int) -> None:
    body = assert_problem(response, 413)
    assert body["max_body_bytes"] == limit, body
    assert str(limit) in body["detail"], body


async def test_json_body_at_the_limit_is_accepted(small: Api) -> None:
    body = source_body(JSON_LIMIT)
    assert len(json.dumps(body).encode()) == JSON_LIMIT
    response = await small.post(
        "/v1/sources",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        role=Role.admin,
    )
    assert response.status_code == 201, response.text


async def test_json_body_over_the_limit_is_a_413_naming_the_limit(small: Api) -> None:
    response = await small.post(
        "/v1/sources",
        content=json.dumps(source_body(JSON_LIMIT + 1)).encode(),
        headers={"Content-Type": "application/json"},
        role=Role.admin,
    )
    assert_too_large(response, JSON_LIMIT)


async def test_chunked_json_body_over_the_limit_is_a_413(small: Api) -> None:
    body = b'{"title": "' + b"t" * (JSON_LIMIT * 3) + b'"}'
    response = await small.post(
        "/v1/sources",
        content=chunks(body),
        headers={"Content-Type": "application/json"},
        role=Role.admin,
    )
    assert "content-length" not in response.request.headers
    assert_too_large(response, JSON_LIMIT)


async def test_declared_length_over_the_limit_is_refused_before_anything_else(
    small: Api,
) -> None:
    # Not even the token is looked at: no body over the limit reaches an operation.
    response = await small.post(
        "/v1/sources", content=b"x" * (JSON_LIMIT + 1), headers={"Content-Type": "text/plain"}
    )
    assert_too_large(response, JSON_LIMIT)


def observation_batch(count: int) -> bytes:
    periods = (f"{1900 + n}" for n in range(count))
    return json.dumps({"observations": [vienna(period=p) for p in periods]}).encode()


async def test_an_observation_batch_has_its_own_larger_limit(small: Api) -> None:
    within, over = observation_batch(15), observation_batch(25)
    assert JSON_LIMIT < len(within) < BATCH_LIMIT < len(over), (len(within), len(over))
    headers = {"Content-Type": "application/json"}
    url = "/v1/observations"

    accepted = await small.post(url, content=within, headers=headers, role=Role.admin)
    refused = await small.post(url, content=over, headers=headers, role=Role.admin)

    assert accepted.status_code == 200, accepted.text
    assert_too_large(refused, BATCH_LIMIT)
    # Other JSON operations keep the default limit.
    source = await small.post("/v1/sources", content=over, headers=headers, role=Role.admin)
    assert_too_large(source, JSON_LIMIT)


async def test_import_has_its_own_larger_limit(small: Api) -> None:
    lines = [row(period=str(1900 + n)) for n in range(20)]
    data = csv_file(*lines)
    assert JSON_LIMIT < len(data) < IMPORT_LIMIT, len(data)

    response = await small.post(
        "/v1/imports", content=data, headers={"Content-Type": "text/csv"}, role=Role.admin
    )
    assert response.status_code == 200, response.text


async def test_import_over_its_limit_is_a_413_naming_the_limit(small: Api) -> None:
    response = await small.post(
        "/v1/imports",
        content=b"x" * (IMPORT_LIMIT + 1),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )
    assert_too_large(response, IMPORT_LIMIT)


async def test_import_cut_off_by_the_limit_midway_writes_nothing(
    small: Api, session: AsyncSession
) -> None:
    # Valid rows stream past the limit without a Content-Length: the first ones were copied
    # to the staging table when the limit is reached; none may be applied.
    data = csv_file(*(row(period=str(1900 + n)) for n in range(100)))
    assert len(data) > IMPORT_LIMIT, len(data)
    count = text(
        "SELECT count(*) FROM profiles.source WHERE title = 'Wiener Bevölkerungsregister "
        "(import test)'"
    )

    response = await small.post(
        "/v1/imports",
        content=chunks(data, 300),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )

    assert_too_large(response, IMPORT_LIMIT)
    assert (await session.execute(count)).scalar_one() == 0
    written = await session.execute(
        text(
            "SELECT count(*) FROM profiles.observation "
            "WHERE city_code = 'ATVIE' AND period LIKE '19__'"
        )
    )
    assert written.scalar_one() == 0
    # The app's connection is usable again: the next request works.
    after = await small.post(
        "/v1/imports",
        content=csv_file(row(period="2001")),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )
    assert after.status_code == 200, after.text


@pytest.mark.parametrize("factory", [create_app, create_dialogue_app], ids=["profiles", "dialogue"])
def test_every_operation_with_a_body_documents_the_413(factory: Any) -> None:
    document = json.loads(render_openapi(factory))
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation and "413" not in operation["responses"]
    ]
    assert not undocumented, undocumented
