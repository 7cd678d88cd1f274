"""Each API's OpenAPI document: complete enough to generate clients from, and committed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.i18n import LANGUAGE_TAG_PATTERN
from shared.openapi import render_openapi
from tests.factories import Api

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
REGENERATE = "make openapi"
FACTORIES: dict[str, Callable[..., FastAPI]] = {
    "profiles": create_profiles_app,
    "dialogue": create_dialogue_app,
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def document(service: str) -> dict[str, Any]:
    rendered: dict[str, Any] = json.loads(render_openapi(FACTORIES[service]))
    return rendered


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_tag_an_operation_id_and_a_summary(
    document: dict[str, Any],
) -> None:
    declared = {tag["name"] for tag in document.get("tags", [])}
    incomplete = [
        name
        for name, operation in operations(document)
        if not operation.get("operationId")
        or not operation.get("summary", "").strip()
        or not operation.get("tags")
        or not set(operation["tags"]) <= declared
    ]

    assert not incomplete, f"operations without tag, operationId or summary: {incomplete}"


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = Counter(operation["operationId"] for _, operation in operations(document))

    assert not [i for i, n in ids.items() if n > 1], f"duplicate operationIds: {ids}"


def test_operation_ids_are_identifiers_clients_can_use(document: dict[str, Any]) -> None:
    odd = [
        operation["operationId"]
        for _, operation in operations(document)
        if not operation["operationId"].isidentifier()
    ]

    assert not odd, odd


def test_every_error_response_is_a_problem_document(document: dict[str, Any]) -> None:
    wrong = []
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            schema = content.get(PROBLEM_MEDIA_TYPE, {}).get("schema", {})
            if list(content) != [PROBLEM_MEDIA_TYPE] or schema.get("$ref") != PROBLEM_REF:
                wrong.append(f"{name} {status}: {content}")
            if not response.get("description"):
                wrong.append(f"{name} {status}: no description")

    assert not wrong, "\n".join(wrong)


def test_every_operation_documents_validation_errors_as_problems(
    document: dict[str, Any],
) -> None:
    missing = [name for name, op in operations(document) if "422" not in op["responses"]]

    assert not missing, missing


def test_the_problem_schema_describes_rfc_9457_members_and_field_errors(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]

    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(
        problem["properties"]
    ), problem
    assert set(problem["required"]) == {"type", "title", "status"}, problem
    assert {"field", "location", "detail"} <= set(schemas["FieldError"]["properties"])


def test_fastapi_validation_schemas_are_not_left_behind(document: dict[str, Any]) -> None:
    text = json.dumps(document)

    assert "HTTPValidationError" not in text
    assert "#/components/schemas/ValidationError" not in text
    assert "ValidationError" not in document["components"]["schemas"]


def test_operations_that_read_a_token_document_the_401(document: dict[str, Any]) -> None:
    missing = [
        name
        for name, operation in operations(document)
        if operation.get("security") and "401" not in operation["responses"]
    ]

    assert not missing, f"a bad token gets a 401 here, undocumented: {missing}"


def test_profiles_city_reads_are_public_and_writes_are_not() -> None:
    document = json.loads(render_openapi(create_profiles_app))
    get_cities = document["paths"]["/v1/cities"]["get"]
    post_cities = document["paths"]["/v1/cities"]["post"]

    assert {} in get_cities["security"], get_cities["security"]
    assert post_cities["security"] == [{"HTTPBearer": []}], post_cities["security"]


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("profiles", "/v1/themes"),
        ("profiles", "/v1/observations"),
        ("profiles", "/v1/compare"),
        ("dialogue", "/v1/cities"),
        ("dialogue", "/v1/exchanges/matches"),
    ],
)
def test_public_reads_that_never_look_at_the_caller_are_documented_as_public(
    service: str, path: str
) -> None:
    # The token check every router adds is not among the route's own dependencies: these were
    # documented as needing a token, so generated clients refused to call them without one.
    document = json.loads(render_openapi(FACTORIES[service]))
    security = document["paths"][path]["get"]["security"]

    assert {} in security, f"{service} GET {path}: {security}"


def test_writes_require_a_bearer_token(document: dict[str, Any]) -> None:
    open_writes = [
        name
        for name, operation in operations(document)
        if name.split()[0] in {"POST", "PUT", "PATCH", "DELETE"}
        and (not operation.get("security") or {} in operation["security"])
    ]

    assert not open_writes, f"writes documented as anonymous: {open_writes}"


def _differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            where = f"{path}/{key}"
            if key not in old:
                yield f"added {where}"
            elif key not in new:
                yield f"removed {where}"
            else:
                yield from _differences(old[key], new[key], where)
    elif old != new:
        yield f"changed {path or '/'}"


def test_committed_openapi_document_matches_the_app(document: dict[str, Any], service: str) -> None:
    committed_file = DOCS / f"{service}.json"
    assert committed_file.is_file(), f"{committed_file} is missing; run: {REGENERATE}"
    committed = json.loads(committed_file.read_text(encoding="utf-8"))

    drift = list(_differences(committed, document))

    assert not drift, (
        f"docs/openapi/{service}.json differs from the app's document ({len(drift)} changes, "
        f"e.g. {drift[:10]}); partners generate clients from it. Regenerate it with: "
        f"{REGENERATE}"
    )
    assert committed_file.read_text(encoding="utf-8") == render_openapi(FACTORIES[service]), (
        f"docs/openapi/{service}.json is not in its generated form; run: {REGENERATE}"
    )


async def test_served_openapi_documents_are_the_committed_ones(api: Api, dialogue: Api) -> None:
    for service, client in (("profiles", api), ("dialogue", dialogue)):
        response = await client.get("/openapi.json")

        assert response.status_code == 200, response.text
        committed = (DOCS / f"{service}.json").read_text(encoding="utf-8")
        assert response.json() == json.loads(committed), service


def test_operations_taking_if_match_document_stale_and_blank_preconditions(
    document: dict[str, Any],
) -> None:
    # A DELETE checks If-Match only when it is sent, but a blank one is still a 428.
    taking = {
        name: set(operation["responses"])
        for name, operation in operations(document)
        if any(
            p["in"] == "header" and p["name"] == "If-Match" for p in operation.get("parameters", ())
        )
    }
    assert any(name.startswith("DELETE ") for name in taking), sorted(taking)
    undocumented = {name: {"412", "428"} - statuses for name, statuses in taking.items()}
    assert not {name: missing for name, missing in undocumented.items() if missing}


def _accepts_null(member: dict[str, Any]) -> bool:
    return member.get("type") == "null" or {"type": "null"} in member.get("anyOf", [])


def test_partial_updates_document_null_only_on_fields_that_can_be_cleared() -> None:
    # A PATCH refuses null on the other fields ("may be omitted but not null"); documenting
    # null there led generated clients to send it.
    document = json.loads(render_openapi(create_profiles_app))
    members = document["components"]["schemas"]["SourceUpdate"]["properties"]

    accepting = {name for name, member in members.items() if _accepts_null(member)}
    assert accepting == {"publisher", "url", "licence", "accessed_on"}, accepting
    assert "default" not in members["title"], members["title"]


def test_language_maps_document_their_tags_non_blank_texts_and_required_english() -> None:
    # A key that is no language tag, a blank text or a missing English text is refused (422);
    # the document said only "an object of strings".
    document = json.loads(render_openapi(create_profiles_app))
    names = document["components"]["schemas"]["CityCreate"]["properties"]["names"]

    assert names["propertyNames"] == {"pattern": LANGUAGE_TAG_PATTERN}, names
    assert names["additionalProperties"] == {"type": "string", "pattern": r"\S"}, names
    assert names["required"] == ["en"], names
