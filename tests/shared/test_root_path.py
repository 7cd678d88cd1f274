"""An API served under a prefix (``MC2CM_ROOT_PATH``), as the compose proxy and the Ingress
serve it: it answers with and without the prefix (a proxy that strips it, an Ingress that
does not), and what it links to names the prefix: OpenAPI servers, docs, ``Location``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.profiles_api.app import create_app
from shared.auth import Role
from shared.root_path import RootPathMiddleware
from tests.conftest import client_in_transaction, make_settings
from tests.factories import Api

PREFIX = "/profiles"


@pytest.fixture(scope="module")
async def prefixed_app(database_url: str, server_urls: tuple[str, str]) -> AsyncIterator[FastAPI]:
    app = create_app(make_settings(database_url, server_urls[1], root_path=PREFIX))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def prefixed(prefixed_app: FastAPI, connection: AsyncConnection) -> AsyncIterator[Api]:
    async with client_in_transaction(
        prefixed_app, connection, prefixed_app.state.settings, "http://proxy.test"
    ) as client:
        yield client


@pytest.mark.parametrize("path", ["/v1/sources", f"{PREFIX}/v1/sources"], ids=["stripped", "kept"])
async def test_a_created_resource_is_located_under_the_prefix(prefixed: Api, path: str) -> None:
    created = await prefixed.post(
        path, role=Role.admin, json={"title": f"Root path test {path}", "kind": "other"}
    )

    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"{PREFIX}/v1/sources/{created.json()['id']}", location
    found = await prefixed.get(location)
    assert found.status_code == 200, found.text


@pytest.mark.parametrize(
    "path", ["/v1/sources/", f"{PREFIX}/v1/sources/"], ids=["stripped", "kept"]
)
async def test_a_trailing_slash_redirect_stays_under_the_prefix(prefixed: Api, path: str) -> None:
    redirected = await prefixed.get(path, follow_redirects=False)

    assert redirected.status_code == 307, redirected.text
    location = httpx.URL(redirected.headers["location"])
    assert location.path == f"{PREFIX}/v1/sources", location
    assert location.host == "proxy.test", location


@pytest.mark.parametrize(
    "path", ["/v1/cities/ZZNOP", f"{PREFIX}/v1/cities/ZZNOP"], ids=["stripped", "kept"]
)
async def test_a_problem_names_the_path_the_caller_asked_for(prefixed: Api, path: str) -> None:
    missing = await prefixed.get(path)

    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["instance"] == f"{PREFIX}/v1/cities/ZZNOP", missing.json()


async def test_openapi_and_docs_name_the_prefix(prefixed: Api) -> None:
    document = (await prefixed.get("/openapi.json")).json()
    assert document["servers"] == [{"url": PREFIX}], document.get("servers")
    docs = (await prefixed.get(f"{PREFIX}/docs")).text
    assert f"'{PREFIX}/openapi.json'" in docs


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("/v1/cities/GRATH", f"{PREFIX}/v1/cities/GRATH"),
        (f"{PREFIX}/v1/cities/GRATH", f"{PREFIX}/v1/cities/GRATH"),
        ("https://example.org/v1/x", "https://example.org/v1/x"),
        ("//cdn.example.org/x", "//cdn.example.org/x"),
    ],
    ids=["path", "already-prefixed", "absolute-url", "other-host"],
)
async def test_only_paths_of_this_host_get_the_prefix(written: str, sent: str) -> None:
    async def redirect(request: Request) -> Response:
        return Response(status_code=201, headers={"Location": written})

    app = RootPathMiddleware(Starlette(routes=[Route("/", redirect)]), PREFIX)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
        response = await client.get("/")

    assert response.headers["location"] == sent


@pytest.mark.parametrize("path", ["/v1/sources", f"{PREFIX}/v1/sources"], ids=["stripped", "kept"])
async def test_an_idempotency_key_is_honoured_under_the_prefix(prefixed: Api, path: str) -> None:
    # The key's middleware finds the operation (who it serves) without the prefix.
    body = {"title": f"Keyed under a prefix {path}", "kind": "other"}
    headers = {"Idempotency-Key": f"prefixed-{path}"}

    first = await prefixed.post(path, role=Role.admin, json=body, headers=headers)
    again = await prefixed.post(path, role=Role.admin, json=body, headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
