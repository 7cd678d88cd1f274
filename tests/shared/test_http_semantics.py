"""HTTP as both APIs speak it, for every path the OpenAPI documents name: 405 with the path's
whole ``Allow``, literal segments beating path parameters, strong ``If-Match``, dates that are
dates, cursors bound to their list, and the index at ``/v1``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.openapi import render_openapi
from shared.routing import check_route_order
from shared.settings import Environment, Settings
from tests.conftest import client_in_transaction, make_settings
from tests.dialogue.factories import new_person
from tests.factories import Api
from tests.shared.test_problems import assert_problem, field_errors

FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    "profiles": create_profiles_app,
    "dialogue": create_dialogue_app,
}
METHODS = {"get", "put", "post", "delete", "patch"}
PARAMETER = re.compile(r"\{[^}]*\}")


def _document(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_openapi(FACTORIES[service]))
    return document


DOCUMENTS = {service: _document(service) for service in FACTORIES}


def _sample(template: str) -> str:
    """A path of ``template`` (every parameter ``1``: routing looks at no value)."""
    return PARAMETER.sub("1", template)


def _paths() -> Iterator[tuple[str, str, set[str]]]:
    for service, document in DOCUMENTS.items():
        for template, item in document["paths"].items():
            yield service, template, {method.upper() for method in item if method in METHODS}


PATHS = list(_paths())


def _client(api: Api, dialogue: Api, service: str) -> Api:
    return api if service == "profiles" else dialogue


# --- 405 and Allow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "template", "methods"), PATHS, ids=[f"{s} {t}" for s, t, _ in PATHS]
)
async def test_a_method_the_path_lacks_is_a_405_allowing_every_method_it_has(
    api: Api, dialogue: Api, service: str, template: str, methods: set[str]
) -> None:
    # OPTIONS /v1/cities said `Allow: GET` although the path has POST too: the router named
    # the methods of the first route it tried.
    client = _client(api, dialogue, service)
    path = _sample(template)

    response = await client.request("OPTIONS", path, role=Api.ADMIN)

    assert_problem(response, 405, instance=path)
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert allowed == methods, f"{template}: Allow {allowed}, documented {methods}"


def _shadowed() -> Iterator[tuple[str, str, str, str, set[str]]]:
    """(service, literal template, method, parameter template, literal's methods) where a
    path of the literal template also fits the parameter template, which has a method the
    literal one lacks."""
    for service, document in DOCUMENTS.items():
        templates = {
            template: {method.upper() for method in item if method in METHODS}
            for template, item in document["paths"].items()
        }
        for literal, literal_methods in templates.items():
            for other, other_methods in templates.items():
                pattern = (
                    "^"
                    + "/".join(
                        "[^/]+" if "{" in part else re.escape(part) for part in other.split("/")
                    )
                    + "$"
                )
                if other == literal or PARAMETER.sub("{}", other) == PARAMETER.sub("{}", literal):
                    continue
                if re.match(pattern, _sample(literal)):
                    for method in sorted(other_methods - literal_methods):
                        yield service, literal, method, other, literal_methods


SHADOWED = list(_shadowed())


def test_some_literal_segment_is_shadowed_by_a_parameter() -> None:
    # The case that was wrong: PATCH /v1/exchanges/matches went to /v1/exchanges/{exchange_id}.
    assert ("dialogue", "/v1/exchanges/matches", "PATCH") in {s[:3] for s in SHADOWED}, SHADOWED


@pytest.mark.parametrize(
    ("service", "literal", "method", "other", "allowed"),
    SHADOWED,
    ids=[f"{s} {m} {lit} (not {o})" for s, lit, m, o, _ in SHADOWED],
)
async def test_a_literal_segment_beats_a_path_parameter(
    api: Api,
    dialogue: Api,
    service: str,
    literal: str,
    method: str,
    other: str,
    allowed: set[str],
) -> None:
    client = _client(api, dialogue, service)
    path = _sample(literal)

    response = await client.request(method, path, role=Api.ADMIN, json={})

    assert_problem(response, 405, instance=path)
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, other


def test_an_app_whose_parameter_route_would_take_a_literal_routes_requests_is_refused() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/v1/things")

    @router.get("/{thing_id}")
    async def get_thing(thing_id: int) -> None: ...

    @router.get("/latest")
    async def latest_thing() -> None: ...

    app.include_router(router)

    with pytest.raises(RuntimeError, match="/v1/things/latest is declared after"):
        check_route_order(app)


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_both_apps_declare_literal_routes_before_parameter_routes(service: str) -> None:
    check_route_order(FACTORIES[service](Settings(environment=Environment.test)))


# --- 401 before the parameters ----------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2000-01-01T00:00:00Z", "until": "2000-01-01T00:00:00Z"},
        {"cursor": "AAAA"},
    ],
    ids=["since-not-before-until", "foreign-cursor"],
)
async def test_an_anonymous_caller_learns_a_token_is_needed_before_its_parameters_are_judged(
    api: Api, query: dict[str, str]
) -> None:
    # The audit log answered 422 (`until` must be later than `since`) to a caller without a
    # token, telling it about parameters of an operation it may not call.
    response = await api.get("/v1/audit", params=query)

    assert_problem(response, 401, instance="/v1/audit")


# --- one value per parameter -------------------------------------------------------------


async def test_a_single_valued_query_parameter_given_twice_is_refused(api: Api) -> None:
    # `?resource=a&resource=b` kept the last value and answered as if only it was asked.
    response = await api.get(
        "/v1/audit", role=Api.ADMIN, params=[("resource", "source"), ("resource", "city")]
    )

    body = assert_problem(response, 422, instance="/v1/audit")
    assert field_errors(body) == {("query", "resource")}, body


async def test_a_list_parameter_may_be_repeated(api: Api) -> None:
    response = await api.get("/v1/observations", params=[("city", "PTLIS"), ("city", "ESMAD")])

    assert response.status_code == 200, response.text
    assert {item["city"] for item in response.json()["items"]} == {"PTLIS", "ESMAD"}


# --- If-Match --------------------------------------------------------------------------------


async def test_a_weak_tag_in_if_match_does_not_match_the_current_version(api: Api) -> None:
    created = await api.post("/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey"})
    url, current = created.headers["location"], created.headers["etag"]

    response = await api.patch(
        url, role=Api.ADMIN, json={"title": "T2"}, headers={"If-Match": f"W/{current}"}
    )

    body = assert_problem(response, 412, instance=url)
    assert body["current_etag"] == current, body
    assert "weak" in body["detail"], body
    assert (await api.get(url)).json()["title"] == "T"


# --- date and date-time query parameters -------------------------------------------------


def _dated_parameters() -> Iterator[tuple[str, str, str, str]]:
    """(service, path, parameter, format) of every date or date-time query parameter."""
    for service, document in DOCUMENTS.items():
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method != "get" or "{" in path:
                    continue
                for parameter in operation.get("parameters", ()):
                    text = json.dumps(parameter.get("schema", {}))
                    for kind in ("date-time", "date"):
                        if parameter["in"] == "query" and f'"format": "{kind}"' in text:
                            yield service, path, parameter["name"], kind
                            break


DATED = list(_dated_parameters())
#: What an operation with a dated parameter requires besides it.
REQUIRED_WITH = {
    "/v1/assessments/compare": {"framework": "mgi_local", "cities": "PTLIS"},
    "/v1/assessments/compare/chart": {"framework": "mgi_local", "cities": "PTLIS"},
}


def test_the_documents_name_the_dated_parameters() -> None:
    names = {(service, path, name) for service, path, name, _ in DATED}

    assert {
        ("profiles", "/v1/audit", "until"),
        ("dialogue", "/v1/events", "from"),
        ("dialogue", "/v1/calendar.ics", "to"),
        ("dialogue", "/v1/actions", "due_before"),
    } <= names, names


@pytest.mark.parametrize("number", ["0.5", "0", "1700000000", "-3", "1e9"])
@pytest.mark.parametrize(
    ("service", "path", "name", "kind"), DATED, ids=[f"{s} {p} {n}" for s, p, n, _ in DATED]
)
async def test_a_bare_number_is_no_date_or_time(
    api: Api, dialogue: Api, service: str, path: str, name: str, kind: str, number: str
) -> None:
    # Pydantic read ?until=0.5 as half a second after 1970: a 200 with nothing in it.
    client = _client(api, dialogue, service)

    params = {**REQUIRED_WITH.get(path, {}), name: number}
    response = await client.get(path, role=Api.ADMIN, params=params)

    body = assert_problem(response, 422, instance=path)
    assert field_errors(body) == {("query", name)}, body


@pytest.mark.parametrize(
    ("service", "path", "name", "kind"), DATED, ids=[f"{s} {p} {n}" for s, p, n, _ in DATED]
)
async def test_an_iso_8601_date_or_time_is_taken(
    api: Api, dialogue: Api, service: str, path: str, name: str, kind: str
) -> None:
    client = _client(api, dialogue, service)
    value = "2026-05-01T09:00:00Z" if kind == "date-time" else "2026-05-01"

    params = {**REQUIRED_WITH.get(path, {}), name: value}
    response = await client.get(path, role=Api.ADMIN, params=params)

    assert response.status_code == 200, response.text


# --- JSON types in bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("reliability_rank", "3"), ("reliability_rank", True), ("accessed_on", 0)],
)
async def test_a_body_value_of_another_json_type_is_refused(
    api: Api, field: str, value: object
) -> None:
    # Pydantic reads "3" as 3 and 0 as 1970-01-01; the document says integer and date.
    response = await api.post(
        "/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey", field: value}
    )

    body = assert_problem(response, 422, instance="/v1/sources")
    assert field_errors(body) == {("body", field)}, body


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
async def test_a_boolean_is_true_or_false(dialogue: Api, value: object) -> None:
    # PATCH /v1/webhooks/{id} with {"active": 0} was taken as false.
    response = await dialogue.post(
        "/v1/people", role=Api.ADMIN, json=new_person(consent_listed=value)
    )

    body = assert_problem(response, 422, instance="/v1/people")
    assert field_errors(body) == {("body", "consent_listed")}, body


async def test_a_language_tag_longer_than_its_column_is_refused_naming_it(
    dialogue: Api,
) -> None:
    # A valid-looking tag of 17+ characters reached the varchar(16) column: a 422 that named
    # nothing ("A value cannot be stored").
    tag = "en-abcdefgh-ijklmn"

    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=new_person(languages=[tag]))

    body = assert_problem(response, 422, instance="/v1/people")
    assert field_errors(body) == {("body", "languages.0")}, body


# --- cursors ---------------------------------------------------------------------------------


async def test_a_cursor_of_one_list_is_refused_by_another(api: Api) -> None:
    for title in ("Cursor test one", "Cursor test two"):
        created = await api.post(
            "/v1/sources", role=Api.ADMIN, json={"title": title, "kind": "survey"}
        )
        assert created.status_code == 201, created.text
    audit = await api.get("/v1/audit", role=Api.ADMIN, params={"limit": 1})
    cursor = audit.json()["next_cursor"]
    assert cursor, audit.text
    assert (await api.get("/v1/audit", role=Api.ADMIN, params={"cursor": cursor})).is_success

    # Both lists are sorted by id: the audit cursor read as "sources after that id".
    response = await api.get("/v1/sources", params={"cursor": cursor})

    body = assert_problem(response, 422, instance="/v1/sources")
    assert field_errors(body) == {("query", "cursor")}, body


async def test_a_cursor_of_the_profiles_audit_is_refused_by_the_dialogue_audit(
    api: Api, dialogue: Api
) -> None:
    for title in ("Cursor test one", "Cursor test two"):
        await api.post("/v1/sources", role=Api.ADMIN, json={"title": title, "kind": "survey"})
    cursor = (await api.get("/v1/audit", role=Api.ADMIN, params={"limit": 1})).json()["next_cursor"]
    assert cursor

    response = await dialogue.get("/v1/audit", role=Api.ADMIN, params={"cursor": cursor})

    body = assert_problem(response, 422, instance="/v1/audit")
    assert field_errors(body) == {("query", "cursor")}, body


# --- the index at /v1 ------------------------------------------------------------------------


def _collections(service: str) -> set[str]:
    return {
        path
        for path, item in DOCUMENTS[service]["paths"].items()
        if "get" in item and re.fullmatch(r"/v1/[^/{}]+", path)
    }


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_the_service_url_is_an_index_of_its_collections(
    api: Api, dialogue: Api, service: str
) -> None:
    # The README's http://127.0.0.1:8001/v1 answered 404.
    client = _client(api, dialogue, service)

    response = await client.get("/v1")

    assert response.status_code == 200, response.text
    index = response.json()
    assert {entry["href"] for entry in index["collections"]} == _collections(service), index
    assert all(entry["summary"] for entry in index["collections"]), index
    assert (await client.get(index["openapi"])).json()["info"]["title"] == index["title"]
    assert (await client.get(index["docs"])).status_code == 200
    for entry in index["collections"]:
        followed = await client.get(entry["href"], role=Api.ADMIN)
        # Some need a filter (a 422 naming it), none is missing.
        assert followed.status_code in {200, 422}, (entry, followed.text)


PREFIX = "/profiles"


@pytest.fixture
async def prefixed(
    database_url: str, server_urls: tuple[str, str], connection: AsyncConnection
) -> AsyncIterator[Api]:
    app = create_profiles_app(make_settings(database_url, server_urls[1], root_path=PREFIX))
    async with (
        app.router.lifespan_context(app),
        client_in_transaction(app, connection, app.state.settings, "http://proxy.test") as client,
    ):
        yield client


@pytest.mark.parametrize("path", ["/v1", f"{PREFIX}/v1"], ids=["stripped", "kept"])
async def test_the_index_links_under_the_root_path(prefixed: Api, path: str) -> None:
    index = (await prefixed.get(path)).json()

    assert index["docs"] == f"{PREFIX}/docs", index
    assert index["openapi"] == f"{PREFIX}/openapi.json", index
    hrefs = {entry["href"] for entry in index["collections"]}
    assert f"{PREFIX}/v1/cities" in hrefs, hrefs
    assert all(href.startswith(f"{PREFIX}/v1/") for href in hrefs), hrefs
