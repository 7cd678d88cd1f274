"""The authorisation matrix (shared/access_matrix.py), proven on every operation of both APIs.

Each operation of each app's OpenAPI document is called by the five kinds of caller with a
valid request on objects of Lisbon made for the test (tests/shared/access_calls.py): an editor
of Lisbon is the city's editor, an editor of Lyon the other editor. Allowed callers get a 2xx;
refused callers get a 401 problem without a token and a 403 or 404 problem with one, which
never shows the object, and the object stays as it was. Deletes and other one-shot calls get
a fresh object per caller (each case runs in its own rolled-back transaction).
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.access_matrix import ACCESS, CALLERS, DIALOGUE, PROFILES, Caller, callers_of
from shared.auth import Role
from shared.settings import Environment, Settings
from tests.factories import Api, assert_problem, audit_entries, request_id_of
from tests.shared.access_calls import BUILDERS, OTHER_CITY, World


def _apps() -> dict[str, FastAPI]:
    settings = Settings(environment=Environment.test)
    return {PROFILES: create_profiles_app(settings), DIALOGUE: create_dialogue_app(settings)}


def _operations() -> dict[tuple[str, str], tuple[str, str]]:
    """(service, operation id) → (method, path template) of every operation of both apps."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for service, app in _apps().items():
        for path, item in app.openapi()["paths"].items():
            for method, operation in item.items():
                found[(service, operation["operationId"])] = (method.upper(), path)
    return found


OPERATIONS = _operations()


# --- the proof ------------------------------------------------------------------------------


def headers_of(api: Api, caller: Caller, city: str) -> dict[str, str]:
    """The Authorization header of ``caller`` for an object of ``city``."""
    assert city != OTHER_CITY, "the other editor must not edit the object's city"
    role, cities = {
        "anonymous": (None, ()),
        "viewer": (Role.viewer, ()),
        "city_editor": (Role.editor, (city,)),
        "other_editor": (Role.editor, (OTHER_CITY,)),
        "admin": (Role.admin, ()),
    }[caller]
    return api.headers(role, cities)


#: The role of each kind of caller with a token (their tokens' subject is ``<role>@test``).
ROLE_OF: dict[Caller, str] = {
    "viewer": "viewer",
    "city_editor": "editor",
    "other_editor": "editor",
    "admin": "admin",
}


def _matches(template: str, url: str) -> bool:
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, url.split("?", 1)[0]) is not None


def test_every_operation_of_both_apis_has_a_line_in_the_matrix() -> None:
    missing = sorted(set(OPERATIONS) - set(ACCESS))

    assert not missing, f"operations without a line in shared/access_matrix.py: {missing}"


def test_every_line_of_the_matrix_names_an_operation() -> None:
    stale = sorted(set(ACCESS) - set(OPERATIONS))

    assert not stale, f"lines of shared/access_matrix.py naming no operation: {stale}"


def test_every_operation_publishes_who_may_call_it() -> None:
    for service, app in _apps().items():
        for path, item in app.openapi()["paths"].items():
            for method, operation in item.items():
                callers = callers_of(service, operation["operationId"])
                assert callers is not None, (service, operation["operationId"])
                assert operation["x-mc2cm-access"] == list(callers), (method, path)
                assert "**Access:**" in operation["description"], (method, path)
                if "anonymous" in callers and operation.get("security"):
                    assert {} in operation["security"], f"{method} {path} asks for a token"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("service", "operation_id"), sorted(OPERATIONS))
async def test_each_caller_gets_what_the_matrix_says(
    api: Api,
    dialogue: Api,
    session: AsyncSession,
    service: str,
    operation_id: str,
    caller: Caller,
) -> None:
    allowed = callers_of(service, operation_id)
    assert allowed is not None, f"{service} {operation_id} has no line in the matrix"
    builder = BUILDERS.get((service, operation_id))
    assert builder is not None, f"no request is built for {service} {operation_id}"
    world = World(api, dialogue, session)
    call = await builder(world)
    method, template = OPERATIONS[(service, operation_id)]
    assert call.method == method and _matches(template, call.url), (call.method, call.url)
    client = world.client(service)
    witness = call.witness_url()
    before = await client.get(witness, role=Api.ADMIN) if witness else None

    headers = {**call.headers, **headers_of(client, caller, call.city)}
    if call.method == "POST":
        headers["Idempotency-Key"] = f"matrix-{caller}-{operation_id}"

    async def send() -> httpx.Response:
        return await client.client.request(
            call.method, call.url, json=call.json, content=call.content, headers=headers
        )

    response = await send()

    what = f"{caller} {call.method} {call.url}"
    if caller in allowed:
        assert 200 <= response.status_code < 300, f"{what}: {response.status_code} {response.text}"
        if call.method != "GET":
            # Every write is in the audit log, with who made it.
            entries = await audit_entries(client, request_id_of(response))
            assert entries, f"{what} left no audit entry"
            assert {entry["actor"] for entry in entries} == {f"{ROLE_OF[caller]}@test"}, entries
        if call.method == "POST":
            # Every POST honours Idempotency-Key: the same request again is answered, not redone.
            replay = await send()
            assert replay.headers.get("idempotent-replayed") == "true", f"{what}: not replayed"
            assert (replay.status_code, replay.content) == (
                response.status_code,
                response.content,
            ), what
        return
    if caller == "anonymous":
        assert_problem(response, 401)
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), what
    else:
        assert response.status_code in (403, 404), f"{what}: {response.status_code} {response.text}"
        assert_problem(response, response.status_code)
    for private in call.private:
        assert private not in response.text, f"{what} showed {private!r}: {response.text}"
    if before is not None and witness is not None and before.status_code != 405:
        after = await client.get(witness, role=Api.ADMIN)
        assert (after.status_code, after.text) == (before.status_code, before.text), (
            f"{what} was refused but changed {witness}: {before.text} -> {after.text}"
        )
