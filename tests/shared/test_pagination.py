"""Cursor pagination (shared/pagination.py): opaque cursors, refused when not ours, capped pages."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.profiles_api.app import create_app
from shared.errors import ValidationFailed
from shared.pagination import decode_cursor, encode_cursor
from shared.settings import Environment, Settings
from tests.conftest import make_settings
from tests.factories import Api
from tests.shared.test_problems import assert_problem, field_errors


@pytest.mark.parametrize(
    "key",
    [
        ["PTLIS", "foreign_nationals", date(2017, 7, 1), 42],
        [datetime(2024, 3, 31, 23, 59, 59, 123456, tzinfo=UTC), 7],
        [datetime(2024, 3, 31, 8, 0, tzinfo=timezone(timedelta(hours=-5))), "x"],
        [datetime(2024, 3, 31, 8, 0), date(1999, 12, 31)],
        [1.5, -3, "ٴعمّان", True, None],
    ],
    ids=["date", "utc-datetime", "offset-datetime", "naive-datetime", "scalars"],
)
def test_cursor_round_trips_the_sort_key(key: list[Any]) -> None:
    decoded = decode_cursor(encode_cursor(key))

    assert decoded == key
    assert [type(value) for value in decoded] == [type(value) for value in key], decoded
    for before, after in zip(key, decoded, strict=True):
        if isinstance(before, datetime):
            assert after.utcoffset() == before.utcoffset(), (before, after)


def test_cursor_is_url_safe_without_padding() -> None:
    cursor = encode_cursor(["PTLIS", date(2017, 1, 1), "?&/+="])

    assert all(c.isalnum() or c in "-_" for c in cursor), cursor


async def _all_pages(api: Api, url: str, limit: int, **params: Any) -> list[list[Any]]:
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        response = await api.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


async def test_following_next_cursor_visits_every_observation_once_in_order(api: Api) -> None:
    # The observations' sort key holds a date (the period's start): the cursor carries it.
    whole = await api.get("/v1/observations", params={"limit": 1000})
    assert whole.status_code == 200, whole.text
    expected = [item["id"] for item in whole.json()["items"]]
    assert whole.json()["next_cursor"] is None
    assert len(expected) > 5, "the demo data should hold several observations"

    pages = await _all_pages(api, "/v1/observations", limit=2)

    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [item["id"] for page in pages for item in page] == expected


async def test_last_full_page_has_no_next_cursor(api: Api) -> None:
    whole = await api.get("/v1/cities", params={"limit": 1000})
    count = len(whole.json()["items"])

    response = await api.get("/v1/cities", params={"limit": count})

    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == count
    assert response.json()["next_cursor"] is None, "a full last page announced another page"


def _raw_cursor(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


NOT_CURSORS = {
    "garbage": "this is not a cursor!",
    "not_base64_json": _raw_cursor(b"\xff\xfe\x00garbage"),
    "json_object": _raw_cursor(b'{"code": "PTLIS"}'),
    "empty_list": _raw_cursor(b"[]"),
    "date_that_is_not_a_date": _raw_cursor(b'[{"$d": "yesterday", "$t": "d"}]'),
    "date_that_is_a_number": _raw_cursor(b'[{"$d": 20170101, "$t": "d"}]'),
    "datetime_that_is_a_list": _raw_cursor(b'[{"$d": [2017], "$t": "dt"}]'),
}


@pytest.mark.parametrize("case", sorted(NOT_CURSORS))
async def test_tampered_cursor_is_a_422_naming_the_cursor(api: Api, case: str) -> None:
    response = await api.get("/v1/cities", params={"cursor": NOT_CURSORS[case]})

    body = assert_problem(response, 422, instance="/v1/cities")
    assert field_errors(body) == {("query", "cursor")}, body["errors"]


@pytest.mark.parametrize("case", sorted(NOT_CURSORS))
def test_decode_cursor_refuses_what_it_did_not_encode(case: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(NOT_CURSORS[case])

    assert raised.value.errors is not None
    assert raised.value.errors[0]["field"] == "cursor", raised.value.errors


def test_a_cursor_names_the_list_that_made_it() -> None:
    cursor = encode_cursor([42], "profiles:list_sources")

    assert decode_cursor(cursor, "profiles:list_sources") == [42]
    for other in ("profiles:list_audit", "dialogue:list_sources", None):
        with pytest.raises(ValidationFailed):
            decode_cursor(cursor, other)


#: The operation ids of the lists below, which their cursors name.
LIST_NAMES = {
    "/v1/observations": "profiles:list_observations",
    "/v1/cities": "profiles:list_cities",
    "/v1/sources": "profiles:list_sources",
}
WRONG_SHAPES = [
    ("/v1/observations", ["PTLIS"]),
    ("/v1/observations", ["PTLIS", "foreign_nationals", "2017-01-01", 5]),
    ("/v1/observations", ["PTLIS", "foreign_nationals", date(2017, 1, 1), "5"]),
    ("/v1/cities", ["PTLIS", "foreign_nationals", date(2017, 1, 1), 5]),
    ("/v1/cities", [5]),
    ("/v1/cities", [None]),
    ("/v1/cities", ["PT\x00LIS"]),
    ("/v1/sources", ["1"]),
    ("/v1/sources", [True]),
    ("/v1/sources", [2**63]),
    ("/v1/sources", [1.5]),
]


@pytest.mark.parametrize(("url", "key"), WRONG_SHAPES, ids=[repr(k) for _, k in WRONG_SHAPES])
async def test_cursor_of_another_shape_is_a_422_naming_the_cursor(
    api: Api, url: str, key: list[Any]
) -> None:
    # Made for the list itself, so that only the shape of the key is wrong.
    response = await api.get(url, params={"cursor": encode_cursor(key, LIST_NAMES[url])})

    body = assert_problem(response, 422, instance=url)
    assert field_errors(body) == {("query", "cursor")}, body["errors"]


async def test_limit_above_the_cap_is_a_422_naming_limit(api: Api) -> None:
    cap = api.settings.pagination_max_limit

    response = await api.get("/v1/cities", params={"limit": cap + 1})

    body = assert_problem(response, 422, instance="/v1/cities")
    assert field_errors(body) == {("query", "limit")}, body["errors"]
    assert str(cap) in body["errors"][0]["detail"], body["errors"]


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
async def test_limit_must_be_a_positive_integer(api: Api, limit: str) -> None:
    response = await api.get("/v1/cities", params={"limit": limit})

    body = assert_problem(response, 422, instance="/v1/cities")
    assert field_errors(body) == {("query", "limit")}, body["errors"]


@pytest.fixture(scope="module")
async def small_pages_app(
    database_url: str, server_urls: tuple[str, str]
) -> AsyncIterator[FastAPI]:
    """The profiles app of a deployment that serves at most three items a page, two by default."""
    settings: Settings = make_settings(
        database_url, server_urls[1], pagination_default_limit=2, pagination_max_limit=3
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_page_size_default_and_cap_come_from_settings(small_pages_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=small_pages_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://small.test") as client:
        default = await client.get("/v1/cities")
        at_cap = await client.get("/v1/cities", params={"limit": 3})
        over_cap = await client.get("/v1/cities", params={"limit": 4})

    assert len(default.json()["items"]) == 2, default.text
    assert default.json()["next_cursor"] is not None
    assert len(at_cap.json()["items"]) == 3, at_cap.text
    body = assert_problem(over_cap, 422, instance="/v1/cities")
    assert body["errors"][0]["detail"] == "must be at most 3", body


def test_openapi_document_states_the_deployment_page_size_cap() -> None:
    # A limit above the cap is a 422; the document allowed any positive integer.
    app = create_app(Settings(environment=Environment.test, pagination_max_limit=3))
    parameters = app.openapi()["paths"]["/v1/cities"]["get"]["parameters"]
    (limit,) = [parameter for parameter in parameters if parameter["name"] == "limit"]

    assert {"type": "integer", "minimum": 1, "maximum": 3} in limit["schema"]["anyOf"], limit
