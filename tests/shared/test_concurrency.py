"""Optimistic concurrency (shared/concurrency.py): If-Match is required and must be current."""

from __future__ import annotations

import pytest

from shared.concurrency import check_if_match, etag
from shared.errors import PreconditionFailed, PreconditionRequired
from tests.factories import Api
from tests.shared.test_problems import assert_problem


def test_etag_is_a_quoted_version() -> None:
    assert etag(7) == '"7"'


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_if_match_is_a_428_naming_the_current_etag(header: str | None) -> None:
    with pytest.raises(PreconditionRequired) as raised:
        check_if_match(header, 3, resource="city")

    assert raised.value.status == 428
    assert raised.value.extensions["current_etag"] == '"3"'
    assert "city" in raised.value.detail


@pytest.mark.parametrize(
    "header", ['"2"', '"4"', "3", '"3 "', 'W/"2"', '"2", "4"', '"03"', 'W/"3"', '"2", W/"3"']
)
def test_if_match_of_another_version_or_a_weak_tag_is_a_412(header: str) -> None:
    # If-Match compares strongly (RFC 9110 §13.1.1): W/"3" does not match version 3.
    with pytest.raises(PreconditionFailed) as raised:
        check_if_match(header, 3, resource="section")

    assert raised.value.status == 412
    assert raised.value.extensions["current_etag"] == '"3"', header


@pytest.mark.parametrize("header", ['"3"', ' "3" ', "*", '"1", "3"', 'W/"2","3"', '"2", *'])
def test_if_match_of_the_current_version_in_any_list_or_star_is_accepted(header: str) -> None:
    check_if_match(header, 3, resource="section")


async def test_update_without_if_match_is_a_428_problem(api: Api) -> None:
    created = await api.post("/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey"})
    assert created.status_code == 201, created.text
    url = created.headers["location"]

    response = await api.patch(url, role=Api.ADMIN, json={"title": "T2"})

    body = assert_problem(response, 428, instance=url)
    assert body["current_etag"] == created.headers["etag"], body


async def test_update_with_a_stale_etag_is_a_412_and_changes_nothing(api: Api) -> None:
    created = await api.post("/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey"})
    url, first = created.headers["location"], created.headers["etag"]
    changed = await api.patch(
        url, role=Api.ADMIN, json={"title": "T2"}, headers={"If-Match": first}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != first

    stale = await api.patch(url, role=Api.ADMIN, json={"title": "T3"}, headers={"If-Match": first})

    body = assert_problem(stale, 412, instance=url)
    assert body["current_etag"] == changed.headers["etag"], body
    assert (await api.get(url)).json()["title"] == "T2"


async def test_update_with_a_weak_form_of_the_current_etag_is_a_412_and_changes_nothing(
    api: Api,
) -> None:
    created = await api.post("/v1/sources", role=Api.ADMIN, json={"title": "T", "kind": "survey"})
    url = created.headers["location"]

    response = await api.patch(
        url,
        role=Api.ADMIN,
        json={"title": "T2"},
        headers={"If-Match": "W/" + created.headers["etag"]},
    )

    body = assert_problem(response, 412, instance=url)
    assert body["current_etag"] == created.headers["etag"], body
    assert (await api.get(url)).json()["title"] == "T"
