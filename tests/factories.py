"""Small helpers that build valid requests in one line."""

from __future__ import annotations

from typing import Any

import httpx

from shared.auth import Role, issue_token
from shared.settings import Settings


class Api:
    """The test client, with one-call ways to act as each kind of caller."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def headers(
        self, role: Role | None, cities: tuple[str, ...] = (), **extra: str
    ) -> dict[str, str]:
        headers = dict(extra)
        if role is not None:
            token = issue_token(
                self.settings, subject=f"{role.value}@test", role=role, cities=cities
            )
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        role: Role | None = None,
        cities: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return await self.client.request(
            method, url, headers=self.headers(role, cities, **(headers or {})), **kwargs
        )

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)

    # Roles used throughout the suite.
    ADMIN = Role.admin
    EDITOR = Role.editor
    VIEWER = Role.viewer


def observation(**overrides: Any) -> dict[str, Any]:
    """A valid observation for the batch API (Turin, foreign nationals, 2023)."""
    body: dict[str, Any] = {
        "city": "ITTRN",
        "indicator": "foreign_nationals",
        "period": "2023",
        "scope": "municipality",
        "value": 140000,
        "source": {
            "title": "Osservatorio interistituzionale sugli stranieri 2024",
            "publisher": "Comune di Torino",
            "url": "https://www.comune.torino.it/",
            "kind": "administrative",
        },
    }
    body.update(overrides)
    return body


CSV_HEADER = (
    "city,indicator,period,scope,dimension,value,value_low,value_high,obs_status,"
    "source_title,source_publisher,source_url,source_kind,note"
)


def csv_file(*rows: str, header: str = CSV_HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem document of ``response``, which must have ``status``."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    content_type = response.headers["content-type"]
    assert content_type.startswith("application/problem+json"), content_type
    body: dict[str, Any] = response.json()
    return body


def error_fields(problem: dict[str, Any]) -> set[str]:
    """The fields a 422 problem names."""
    return {error["field"] for error in problem.get("errors") or []}


def request_id_of(response: httpx.Response) -> str:
    """The ``X-Request-ID`` every response carries (the caller's own when it sent one)."""
    return response.headers["x-request-id"]


async def audit_entries(api: Api, request_id: str) -> list[dict[str, Any]]:
    """The audit log entries the request ``request_id`` left in ``api``'s service, oldest
    first (read through ``GET /v1/audit`` as an admin)."""
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"request_id": request_id, "limit": 100}
    while True:
        response = await api.get("/v1/audit", role=Api.ADMIN, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        entries.extend(page["items"])
        if page["next_cursor"] is None:
            return entries[::-1]
        params["cursor"] = page["next_cursor"]


class WriteWalk:
    """Goes through the write operations of an app, checking that each left an audit entry
    naming its resource and id; ``missed`` lists the operations not gone through yet."""

    WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

    def __init__(self, api: Api, openapi: dict[str, Any]) -> None:
        self.api = api
        self.operations = {
            f"{method.upper()} {path}"
            for path, methods in openapi["paths"].items()
            for method in methods
            if method in self.WRITE_METHODS
        }
        self.done: set[str] = set()

    async def step(
        self,
        operation: str,
        response: httpx.Response,
        resource: str,
        resource_id: object,
    ) -> httpx.Response:
        """Check the entry of ``response``, a response of ``operation``
        (``"PATCH /v1/cities/{code}"``); ``resource_id`` ``None`` for writes without one."""
        assert operation in self.operations, f"{operation} is not a write operation of the app"
        assert response.status_code < 300, f"{operation}: {response.text}"
        entries = await audit_entries(self.api, request_id_of(response))
        expected = (resource, None if resource_id is None else str(resource_id))
        named = [(entry["resource"], entry["resource_id"]) for entry in entries]
        assert expected in named, f"{operation} left {entries}, not {expected}"
        self.done.add(operation)
        return response

    @property
    def missed(self) -> set[str]:
        return self.operations - self.done
