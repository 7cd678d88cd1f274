"""Challenges: a city's needs, changed by its editors, never reachable through another city."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.profiles_api.challenges import service
from services.profiles_api.challenges.schemas import ChallengeCreate, ChallengeUpdate
from services.profiles_api.cities.schemas import CityCreate
from services.profiles_api.cities.service import create_city
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import PreconditionFailed
from tests.factories import Api, assert_problem, error_fields, new_challenge
from tests.waiting import wait_until_blocked_by

TUNIS_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("TNTUN",)}


async def add(api: Api, city: str = "TNTUN", **overrides: Any) -> httpx.Response:
    response = await api.post(
        f"/v1/cities/{city}/challenges", role=Api.ADMIN, json=new_challenge(**overrides)
    )
    assert response.status_code == 201, response.text
    return response


async def listed(api: Api, city: str = "TNTUN", **params: Any) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/cities/{city}/challenges", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
async def api(api: Api) -> Api:
    """The profiles client, with Tunis and Amman cleared of the challenges the demo data gives
    them: the tests below count the challenges they record."""
    for city in ("TNTUN", "JOAMM"):
        for challenge in await listed(api, city, limit=100):
            url = f"/v1/cities/{city}/challenges/{challenge['id']}"
            removed = await api.delete(url, role=Api.ADMIN)
            assert removed.status_code == 204, removed.text
        assert await listed(api, city) == []
    return api


# Creating


async def test_editor_of_tunis_records_a_challenge(api: Api) -> None:
    response = await api.post("/v1/cities/TNTUN/challenges", json=new_challenge(), **TUNIS_EDITOR)
    assert response.status_code == 201, response.text
    challenge = response.json()
    assert (challenge["city"], challenge["theme"], challenge["need_type"]) == (
        "TNTUN",
        "housing",
        "resources",
    ), challenge
    assert challenge["priority"] == "high", challenge
    assert response.headers["Location"] == f"/v1/cities/TNTUN/challenges/{challenge['id']}"
    assert response.headers["ETag"] == '"1"', response.headers


async def test_priority_defaults_to_medium(api: Api) -> None:
    body = new_challenge()
    del body["priority"]
    response = await api.post("/v1/cities/TNTUN/challenges", json=body, **TUNIS_EDITOR)
    assert response.json()["priority"] == "medium", response.json()


async def test_editor_of_tunis_cannot_record_a_challenge_of_amman(api: Api) -> None:
    response = await api.post("/v1/cities/JOAMM/challenges", json=new_challenge(), **TUNIS_EDITOR)
    assert_problem(response, 403)
    assert await listed(api, "JOAMM") == []


async def test_viewer_cannot_record_a_challenge(api: Api) -> None:
    response = await api.post("/v1/cities/TNTUN/challenges", role=Api.VIEWER, json=new_challenge())
    assert_problem(response, 403)


async def test_anonymous_caller_cannot_record_a_challenge(api: Api) -> None:
    assert_problem(await api.post("/v1/cities/TNTUN/challenges", json=new_challenge()), 401)


async def test_challenge_of_unknown_city_is_404(api: Api) -> None:
    response = await api.post("/v1/cities/XXABC/challenges", role=Api.ADMIN, json=new_challenge())
    assert_problem(response, 404)
    assert_problem(await api.get("/v1/cities/XXABC/challenges"), 404)


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("theme", {"theme": "sport"}),
        ("need_type", {"need_type": "money"}),
        ("priority", {"priority": "urgent"}),
        ("description", {"description": {"fr": "Seulement en français"}}),
        ("owner", {"owner": "someone"}),
    ],
)
async def test_invalid_challenge_is_422_naming_the_field(
    api: Api, field: str, changes: dict[str, Any]
) -> None:
    response = await api.post(
        "/v1/cities/TNTUN/challenges", json=new_challenge(**changes), **TUNIS_EDITOR
    )
    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem


# Reading


async def test_anonymous_caller_reads_a_citys_challenges(api: Api) -> None:
    created = (await add(api)).json()
    response = await api.get(f"/v1/cities/TNTUN/challenges/{created['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["description"] == new_challenge()["description"]["en"]
    assert response.headers["ETag"] == '"1"', response.headers
    assert [c["id"] for c in await listed(api)] == [created["id"]]


async def test_challenges_list_only_the_citys_own(api: Api) -> None:
    tunis = (await add(api)).json()
    await add(api, "JOAMM")
    assert [c["id"] for c in await listed(api)] == [tunis["id"]]


async def test_filters_narrow_the_list(api: Api) -> None:
    housing = (await add(api)).json()
    health = (await add(api, theme="health", need_type="capabilities", priority="low")).json()
    governance = (await add(api, theme="health", need_type="governance")).json()
    assert [c["id"] for c in await listed(api, theme="housing")] == [housing["id"]]
    by_theme = [c["id"] for c in await listed(api, theme="health")]
    assert by_theme == [health["id"], governance["id"]], by_theme
    assert [c["id"] for c in await listed(api, need_type="capabilities")] == [health["id"]]
    assert [c["id"] for c in await listed(api, priority="low")] == [health["id"]]
    combined = await listed(api, theme="health", priority="high")
    assert [c["id"] for c in combined] == [governance["id"]], combined


async def test_unknown_filter_value_is_422(api: Api) -> None:
    response = await api.get("/v1/cities/TNTUN/challenges", params={"need_type": "money"})
    assert "need_type" in error_fields(assert_problem(response, 422))


async def test_challenges_page_through_the_cursor(api: Api) -> None:
    ids = [(await add(api)).json()["id"] for _ in range(5)]
    first = (await api.get("/v1/cities/TNTUN/challenges", params={"limit": 3})).json()
    second = (
        await api.get(
            "/v1/cities/TNTUN/challenges", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [c["id"] for c in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None, second


async def test_description_follows_accept_language(api: Api) -> None:
    created = (await add(api)).json()
    response = await api.get(
        f"/v1/cities/TNTUN/challenges/{created['id']}", headers={"Accept-Language": "fr"}
    )
    challenge = response.json()
    assert challenge["language"] == "fr", challenge
    assert challenge["description"].startswith("Pas assez"), challenge
    arabic = await api.get(
        f"/v1/cities/TNTUN/challenges/{created['id']}", headers={"Accept-Language": "ar"}
    )
    assert arabic.json()["language"] == "en", arabic.json()


# An id of another city


async def test_challenge_of_another_city_is_404_on_read(api: Api) -> None:
    amman = (await add(api, "JOAMM")).json()
    response = await api.get(f"/v1/cities/TNTUN/challenges/{amman['id']}")
    problem = assert_problem(response, 404)
    assert "shelter" not in response.text, problem


async def test_challenge_of_another_city_is_404_on_change(api: Api) -> None:
    amman = await add(api, "JOAMM")
    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{amman.json()['id']}",
        headers={"If-Match": amman.headers["ETag"]},
        json={"priority": "low"},
        **TUNIS_EDITOR,
    )
    assert_problem(response, 404)
    assert "shelter" not in response.text, response.text
    unchanged = await api.get(f"/v1/cities/JOAMM/challenges/{amman.json()['id']}")
    assert unchanged.json()["priority"] == "high", unchanged.json()


async def test_challenge_of_another_city_is_404_on_removal(api: Api) -> None:
    amman = (await add(api, "JOAMM")).json()
    response = await api.delete(f"/v1/cities/TNTUN/challenges/{amman['id']}", **TUNIS_EDITOR)
    assert_problem(response, 404)
    assert (await api.get(f"/v1/cities/JOAMM/challenges/{amman['id']}")).status_code == 200


# Changing and removing


async def test_editor_of_tunis_changes_its_challenge_with_if_match(api: Api) -> None:
    created = await add(api)
    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{created.json()['id']}",
        headers={"If-Match": created.headers["ETag"]},
        json={"priority": "low", "need_type": "governance"},
        **TUNIS_EDITOR,
    )
    assert response.status_code == 200, response.text
    challenge = response.json()
    assert (challenge["priority"], challenge["need_type"]) == ("low", "governance"), challenge
    assert challenge["theme"] == "housing", "fields not sent must stay as they were"
    assert response.headers["ETag"] == '"2"', response.headers


async def test_change_without_if_match_is_428(api: Api) -> None:
    challenge_id = (await add(api)).json()["id"]
    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{challenge_id}", json={"priority": "low"}, **TUNIS_EDITOR
    )
    assert_problem(response, 428)


async def test_change_with_stale_etag_is_412(api: Api) -> None:
    created = await add(api)
    url = f"/v1/cities/TNTUN/challenges/{created.json()['id']}"
    etag = created.headers["ETag"]
    first = await api.patch(
        url, headers={"If-Match": etag}, json={"priority": "low"}, **TUNIS_EDITOR
    )
    assert first.status_code == 200, first.text
    second = await api.patch(
        url, headers={"If-Match": etag}, json={"priority": "medium"}, **TUNIS_EDITOR
    )
    assert_problem(second, 412)
    assert (await api.get(url)).json()["priority"] == "low"


async def test_editor_of_amman_cannot_change_tunis_challenge(api: Api) -> None:
    created = await add(api)
    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{created.json()['id']}",
        headers={"If-Match": created.headers["ETag"]},
        json={"priority": "low"},
        role=Api.EDITOR,
        cities=("JOAMM",),
    )
    assert_problem(response, 403)


async def test_explicit_null_is_422(api: Api) -> None:
    created = await add(api)
    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{created.json()['id']}",
        headers={"If-Match": created.headers["ETag"]},
        json={"theme": None},
        **TUNIS_EDITOR,
    )
    assert "theme" in error_fields(assert_problem(response, 422))


async def test_editor_of_tunis_removes_its_challenge(api: Api) -> None:
    created = await add(api)
    url = f"/v1/cities/TNTUN/challenges/{created.json()['id']}"
    response = await api.delete(url, headers={"If-Match": created.headers["ETag"]}, **TUNIS_EDITOR)
    assert response.status_code == 204, response.text
    assert_problem(await api.get(url), 404)


async def test_editor_of_amman_cannot_remove_tunis_challenge(api: Api) -> None:
    url = f"/v1/cities/TNTUN/challenges/{(await add(api)).json()['id']}"
    assert_problem(await api.delete(url, role=Api.EDITOR, cities=("JOAMM",)), 403)
    assert_problem(await api.delete(url), 401)
    assert (await api.get(url)).status_code == 200


async def test_removal_with_stale_etag_is_412(api: Api) -> None:
    url = f"/v1/cities/TNTUN/challenges/{(await add(api)).json()['id']}"
    assert_problem(await api.delete(url, headers={"If-Match": '"5"'}, **TUNIS_EDITOR), 412)


# Concurrent writers


async def test_second_writer_with_the_same_etag_gets_412_not_a_lost_update(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    tunis = CityCreate.model_validate(
        {
            "code": "TNTUN",
            "names": {"en": "Tunis"},
            "country": "TN",
            "region": "south_mediterranean",
            "timezone": "Africa/Tunis",
            "membership": {"status": "confirmed"},
        }
    )
    async with own_database.sessionmaker() as setup, setup.begin():
        await create_city(setup, admin, tunis)
        created = await service.create_challenge(
            setup, admin, "TNTUN", ChallengeCreate.model_validate(new_challenge())
        )

    def change(priority: str) -> ChallengeUpdate:
        return ChallengeUpdate.model_validate({"priority": priority})

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.update_challenge(
            first, admin, "TNTUN", created.id, change("low"), if_match='"1"'
        )
        racing = asyncio.create_task(
            service.update_challenge(
                second, admin, "TNTUN", created.id, change("medium"), if_match='"1"'
            )
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the first one's commit"
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
    async with own_database.sessionmaker() as check:
        challenge = await service.get_challenge(check, "TNTUN", created.id)
        assert (challenge.priority, challenge.version) == ("low", 2), challenge.priority
