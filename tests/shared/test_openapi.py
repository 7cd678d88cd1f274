"""Each API's OpenAPI document: complete enough to generate clients from, and committed."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.errors import PROBLEM_MEDIA_TYPE
from shared.i18n import LANGUAGE_TAG_PATTERN
from shared.openapi import render_openapi
from shared.text import SINGLE_LINE_NOT_BLANK_PATTERN, TEXT_NOT_BLANK_PATTERN
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


#: Operations that take no input at all: nothing to refuse.
WITHOUT_INPUT = {"GET /v1", "GET /healthz", "GET /readyz", "GET /metrics"}


def test_every_operation_documents_validation_errors_as_problems(
    document: dict[str, Any],
) -> None:
    missing = [
        name
        for name, op in operations(document)
        if "422" not in op["responses"] and name not in WITHOUT_INPUT
    ]

    assert not missing, missing


def test_operations_without_input_do_not_document_a_422(document: dict[str, Any]) -> None:
    # /healthz and /metrics listed 422 although they read nothing of the request.
    listed = [
        name
        for name, op in operations(document)
        if name in WITHOUT_INPUT and "422" in op["responses"]
    ]

    assert not listed, listed


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
    assert names["additionalProperties"] == {
        "type": "string",
        "pattern": SINGLE_LINE_NOT_BLANK_PATTERN,
    }, names
    assert names["required"] == ["en"], names


def test_free_texts_of_bodies_document_the_characters_they_refuse() -> None:
    # A narrative holding U+0015 is a 422 ("must not contain the control character"); the
    # document said any non-blank string.
    document = json.loads(render_openapi(create_profiles_app))
    schemas = document["components"]["schemas"]
    narrative = schemas["SectionWrite"]["properties"]["narrative"]["additionalProperties"]
    pattern = re.compile(narrative["pattern"])

    assert pattern.match("Line one\nline two\twith a tab"), narrative
    assert not pattern.match("a\x15b"), narrative
    assert not pattern.match("  "), narrative
    assert narrative["pattern"] == TEXT_NOT_BLANK_PATTERN
    for name, member in schemas["SourceCreate"]["properties"].items():
        texts = [m for m in member.get("anyOf", [member]) if m.get("type") == "string"]
        for text in texts:
            if not {"format", "enum"} & set(text):
                assert not re.match(text["pattern"], "a\x15b"), (name, text)


def _parameter(operation: dict[str, Any], where: str, name: str) -> dict[str, Any] | None:
    return next(
        (
            p
            for p in operation.get("parameters", ())
            if p["in"] == where and p["name"].lower() == name.lower()
        ),
        None,
    )


def test_if_match_is_required_where_a_missing_one_is_a_428(document: dict[str, Any]) -> None:
    # Updates answer 428 without If-Match; deletes check it only when sent. The document said
    # "optional" everywhere, so clients and fuzzers left it out.
    wrong = []
    for name, operation in operations(document):
        parameter = _parameter(operation, "header", "If-Match")
        if parameter is None:
            continue
        required = not name.startswith("DELETE ")
        if parameter.get("required", False) is not required:
            wrong.append(f"{name}: required={parameter.get('required')}")
        if parameter["schema"].get("pattern") != r"\S":
            wrong.append(f"{name}: {parameter['schema']} (a blank tag is a 428)")
    assert any(name.startswith("PATCH ") for name, _ in operations(document))
    assert not wrong, wrong


async def test_a_missing_required_if_match_is_a_428_not_a_validation_error(api: Api) -> None:
    created = await api.post("/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey"})

    response = await api.patch(created.headers["location"], role=Api.ADMIN, json={"title": "U"})

    assert response.status_code == 428, response.text


def test_cursors_are_documented_as_opaque_and_refusable(document: dict[str, Any]) -> None:
    wrong = []
    for name, operation in operations(document):
        cursor = _parameter(operation, "query", "cursor")
        if cursor is None:
            continue
        text = cursor.get("description", "")
        if "Opaque" not in text or "422" not in text or "422" not in operation["responses"]:
            wrong.append(f"{name}: {text}")
        alternatives = cursor["schema"].get("anyOf", [cursor["schema"]])
        if not any(a.get("pattern") == "^[A-Za-z0-9_-]*$" for a in alternatives):
            wrong.append(f"{name}: {cursor['schema']}")
    assert not wrong, wrong


def _header_refs(response: dict[str, Any]) -> set[str]:
    return {
        header["$ref"].rsplit("/", 1)[-1]
        for header in response.get("headers", {}).values()
        if "$ref" in header
    }


def test_response_headers_are_documented_from_one_place(document: dict[str, Any]) -> None:
    headers = document["components"]["headers"]
    assert headers["X-Request-ID"]["required"] is True, headers
    wrong = []
    for name, operation in operations(document):
        method = name.split()[0]
        negotiates = _parameter(operation, "header", "Accept-Language") is not None
        for status, response in operation["responses"].items():
            refs = _header_refs(response)
            if not refs <= set(headers):
                wrong.append(f"{name} {status}: {refs - set(headers)} not in components")
            expected = {"X-Request-ID"}
            if status == "201":
                expected |= {"Location"}
            if status in {"429", "503"}:
                expected |= {"Retry-After"}
            if method in {"POST", "PUT", "PATCH", "DELETE"}:
                expected |= {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
            if method == "POST":
                expected |= {"Idempotent-Replayed"}
            if status.startswith("2") and status != "204" and negotiates:
                expected |= {"Content-Language"}
            if not expected <= refs:
                wrong.append(f"{name} {status}: missing {expected - refs}")
    assert not wrong, wrong[:20]


def test_editable_resources_document_their_etag() -> None:
    document = json.loads(render_openapi(create_profiles_app))
    city = document["paths"]["/v1/cities/{code}"]

    for response in (
        city["get"]["responses"]["200"],
        city["patch"]["responses"]["200"],
        document["paths"]["/v1/cities"]["post"]["responses"]["201"],
    ):
        assert "ETag" in _header_refs(response), response
    # The index has a `version` too, the API's: its ETag is its body's hash (shared.caching),
    # as every read's, and no If-Match is taken there.
    assert "ETag" in _header_refs(document["paths"]["/v1"]["get"]["responses"]["200"])
    assert "patch" not in document["paths"]["/v1"]


def test_success_responses_say_what_comes_back(document: dict[str, Any]) -> None:
    vague = [
        f"{name} {status}"
        for name, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("2") and response["description"] in {"Successful Response", "Created"}
    ]

    assert not vague, vague


def test_the_bearer_token_is_documented_as_a_jwt(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    assert {scheme.get("bearerFormat") for scheme in schemes.values()} == {"JWT"}, schemes


def test_every_request_body_has_an_example_its_schema_accepts(document: dict[str, Any]) -> None:
    wrong = []
    for name, operation in operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if "example" not in content:
                wrong.append(f"{name} {media_type}: no example")
                continue
            if media_type != "application/json":
                continue
            schema = {**content["schema"], "components": document["components"]}
            validator = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.FormatChecker()
            )
            errors = [error.message for error in validator.iter_errors(content["example"])]
            if errors:
                wrong.append(f"{name}: {errors}")
    assert not wrong, wrong


async def test_request_body_examples_are_accepted_by_the_profiles_api(api: Api) -> None:
    # The examples are what a partner copies first: creating a source from it works.
    document = json.loads(render_openapi(create_profiles_app))
    example = document["paths"]["/v1/sources"]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]

    response = await api.post("/v1/sources", role=Api.ADMIN, json=example)

    assert response.status_code == 201, (example, response.text)


def test_idempotency_keys_are_documented_as_the_server_takes_them(
    document: dict[str, Any],
) -> None:
    # A key of non-ASCII characters is a 422; the document said "any string".
    for name, operation in operations(document):
        if not name.startswith("POST "):
            continue
        key = _parameter(operation, "header", "Idempotency-Key")
        assert key is not None, name
        pattern = re.compile(key["schema"]["pattern"])
        assert pattern.match("3fa85f64-5717-4562-b3fc-2c963f66afa6"), name
        assert not pattern.match("clé"), name
        assert not pattern.match(" padded "), name


def _strings(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for alternative in schema.get("anyOf", ()):
        yield from _strings(alternative)
    if schema.get("type") == "array":
        yield from _strings(schema.get("items", {}))
    if schema.get("type") == "string":
        yield schema


def test_query_and_path_texts_document_that_nul_is_refused(document: dict[str, Any]) -> None:
    # A NUL in any query or path parameter is a 422; the documents allowed any string.
    open_texts = [
        f"{name} {parameter['name']}"
        for name, operation in operations(document)
        for parameter in operation.get("parameters", ())
        if parameter["in"] in {"query", "path"}
        for text in _strings(parameter.get("schema", {}))
        if re.search(text.get("pattern", ""), "a\x00b") and not {"enum", "format"} & set(text)
    ]

    assert not open_texts, open_texts


UNIQUE_LISTS = [
    ("dialogue", "EventCreate", "themes"),
    ("dialogue", "EventCreate", "participating_cities"),
    ("dialogue", "PersonCreate", "languages"),
    ("dialogue", "WebhookCreate", "event_types"),
    ("dialogue", "ExchangeCreate", "related_themes"),
    ("dialogue", "AgendaItemCreate", "speakers"),
    ("profiles", "IndicatorCreate", "dimensions"),
]


@pytest.mark.parametrize(("service", "model", "field"), UNIQUE_LISTS)
def test_lists_that_refuse_a_repeated_item_document_unique_items(
    service: str, model: str, field: str
) -> None:
    # "lists a theme twice" was a 422 for a list the document let repeat.
    document = json.loads(render_openapi(FACTORIES[service]))
    member = document["components"]["schemas"][model]["properties"][field]

    assert '"uniqueItems": true' in json.dumps(member), member


def test_integer_bounds_are_exact_integers(document: dict[str, Any]) -> None:
    # Bounds came out as floats: le=2**63 - 1 read 9.223372036854776e18, i.e. 2**63, which
    # the server refuses.
    inexact: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                inexact.extend(
                    f"{where} {key}={node[key]!r}"
                    for key in ("minimum", "maximum")
                    if isinstance(node.get(key), float)
                )
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(document, "")

    assert not inexact, inexact[:10]
    assert str(2**63 - 1) in json.dumps(document)
