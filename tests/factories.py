"""The suite's one helpers module: valid requests in one line, and the checks every test
shares (problem documents, audit entries, outbox events). A helper several test modules need
lives here, not in each of them (tests/test_suite_shape.py checks the usual ones); waiting on
conditions lives in tests/waiting.py, and the dialogue's builders in tests/dialogue/factories.py.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role, issue_token
from shared.errors import PROBLEM_MEDIA_TYPE
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


def new_city(**overrides: Any) -> dict[str, Any]:
    """A valid city that is not in the demo data (Athens)."""
    body: dict[str, Any] = {
        "code": "GRATH",
        "names": {"en": "Athens", "fr": "Athènes", "el": "Αθήνα"},
        "country": "GR",
        "region": "europe",
        "latitude": 37.98,
        "longitude": 23.73,
        "timezone": "Europe/Athens",
        "membership": {"status": "expected", "since": "2026-01-15"},
    }
    body.update(overrides)
    return body


def new_source(**overrides: Any) -> dict[str, Any]:
    """A valid source: the French census of 2021."""
    body: dict[str, Any] = {
        "title": "Recensement de la population 2021",
        "publisher": "INSEE",
        "url": "https://www.insee.fr/fr/statistiques/2021",
        "kind": "census",
    }
    body.update(overrides)
    return body


def unique_title(prefix: str) -> str:
    """A title no other request uses: ``prefix`` and a random suffix."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def new_challenge(**overrides: Any) -> dict[str, Any]:
    """A valid challenge: too few emergency shelter places (housing, resources, high)."""
    body: dict[str, Any] = {
        "theme": "housing",
        "need_type": "resources",
        "description": {
            "en": "Not enough emergency shelter places for newcomers.",
            "fr": "Pas assez de places d'hébergement d'urgence pour les nouveaux arrivants.",
        },
        "priority": "high",
    }
    body.update(overrides)
    return body


def new_indicator(**overrides: Any) -> dict[str, Any]:
    """A valid indicator that is not in the demo catalogue."""
    body: dict[str, Any] = {
        "code": "language_classes_places",
        "names": {"en": "Places in language classes", "fr": "Places en cours de langue"},
        "theme": "education",
        "unit": "count",
        "value_type": "integer",
        "population_concept": "residents",
        "dimensions": ["district"],
        "aggregation": "sum",
    }
    body.update(overrides)
    return body


CSV_HEADER = (
    "city,indicator,period,scope,dimension,value,value_low,value_high,obs_status,"
    "source_title,source_publisher,source_url,source_kind,note"
)


def csv_file(*rows: str, header: str = CSV_HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


#: The members every problem document of ours has.
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "instance")


def assert_problem(
    response: httpx.Response, status: int, *, instance: str | None = None
) -> dict[str, Any]:
    """The RFC 9457 problem document of ``response``, which must have ``status`` (in the
    response and in the document); its body.

    With ``instance``, the document must also be complete: exactly our media type, every member
    of ``PROBLEM_MEMBERS``, a type of ours, a title and a detail, and ``instance`` as given."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    content_type = response.headers["content-type"]
    assert content_type.startswith(PROBLEM_MEDIA_TYPE), content_type
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    if instance is not None:
        assert content_type == PROBLEM_MEDIA_TYPE, f"{response.request.url}: {content_type}"
        missing = [name for name in PROBLEM_MEMBERS if name not in body]
        assert not missing, f"problem without {missing}: {body}"
        assert body["type"].startswith("urn:mc2cm:problem:"), body
        assert isinstance(body["title"], str) and body["title"], body
        assert isinstance(body["detail"], str) and body["detail"], body
        assert body["instance"] == instance, body
    return body


def error_fields(problem: dict[str, Any]) -> set[str]:
    """The fields a 422 problem names."""
    return {error["field"] for error in problem.get("errors") or []}


def error_field_list(problem: dict[str, Any]) -> list[str]:
    """The fields a 422 problem names, in its order, each as often as it names it."""
    return [error["field"] for error in problem.get("errors") or []]


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


async def only_entry(api: Api, response: httpx.Response) -> dict[str, Any]:
    """The one audit entry the request of ``response`` left."""
    entries = await audit_entries(api, request_id_of(response))
    assert len(entries) == 1, entries
    return entries[0]


def if_match(response: httpx.Response) -> dict[str, str]:
    """The ``If-Match`` header of an update of what ``response`` read or wrote."""
    return {"If-Match": response.headers["ETag"]}


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

    async def created(self, operation: str, url: str, resource: str, body: Any) -> httpx.Response:
        """An administrator's POST of ``body`` to ``url``: a 201 whose entry names the new id."""
        response = await self.api.post(url, json=body, role=Api.ADMIN)
        assert response.status_code == 201, f"{operation}: {response.text}"
        return await self.step(operation, response, resource, response.json()["id"])

    async def changed(
        self, operation: str, url: str, resource: str, before: httpx.Response, body: Any
    ) -> httpx.Response:
        """An administrator's PATCH of what ``before`` represents (its ETag as If-Match)."""
        response = await self.api.patch(url, json=body, headers=if_match(before), role=Api.ADMIN)
        return await self.step(operation, response, resource, before.json()["id"])

    async def removed(
        self, operation: str, url: str, resource: str, before: httpx.Response
    ) -> httpx.Response:
        """An administrator's DELETE of what ``before`` represents (its ETag as If-Match)."""
        response = await self.api.delete(url, headers=if_match(before), role=Api.ADMIN)
        return await self.step(operation, response, resource, before.json()["id"])


def closed_port() -> int:
    """A local TCP port nothing listens on (one the system just handed out and took back)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def outbox_position(session: AsyncSession, schema: str = "profiles") -> int:
    """The position of the last event in ``schema``'s outbox (0 when empty)."""
    position = await session.scalar(text(f"SELECT coalesce(max(position), 0) FROM {schema}.outbox"))
    return int(position or 0)


async def outbox_since(
    session: AsyncSession, position: int, schema: str = "profiles"
) -> list[dict[str, Any]]:
    """The events of ``schema``'s outbox after ``position``, in order: their position, type,
    actor, envelope and writing transaction (``xid``)."""
    rows = await session.execute(
        text(
            "SELECT position, type, actor, envelope, xmin::text AS xid "
            f"FROM {schema}.outbox WHERE position > :position ORDER BY position"
        ),
        {"position": position},
    )
    return [dict(row._mapping) for row in rows]
