"""Sources: any editor adds one, administrators change or remove them, cited ones stay."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.profiles_api.sources import service
from services.profiles_api.sources.schemas import SourceCreate, SourceUpdate
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import PreconditionFailed
from tests.factories import Api, assert_problem, error_fields, new_source
from tests.waiting import wait_until_blocked_by

SEF_TITLE = "SEFSTAT: população estrangeira residente por distrito"


async def search(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/sources", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def demo_source(api: Api, title: str) -> dict[str, Any]:
    [source] = [s for s in await search(api, q=title) if s["title"] == title]
    return source


async def add(api: Api, **overrides: Any) -> httpx.Response:
    return await api.post(
        "/v1/sources", role=Api.EDITOR, cities=("FRLYS",), json=new_source(**overrides)
    )


# Reading


async def test_anonymous_caller_lists_the_demo_sources(api: Api) -> None:
    titles = {source["title"] for source in await search(api)}
    assert SEF_TITLE in titles and "Mount Lebanon & Beirut (fact sheet)" in titles, titles


async def test_kind_filter_lists_only_that_kind(api: Api) -> None:
    sources = await search(api, kind="unhcr")
    assert {source["kind"] for source in sources} == {"unhcr"}, sources
    assert "Mount Lebanon & Beirut (fact sheet)" in {s["title"] for s in sources}, sources


async def test_q_finds_sources_by_title_regardless_of_case(api: Api) -> None:
    titles = [source["title"] for source in await search(api, q="sefstat")]
    assert titles == [SEF_TITLE], titles


async def test_q_finds_sources_by_publisher(api: Api) -> None:
    sources = await search(api, q="UNHCR Lebanon")
    assert [source["publisher"] for source in sources] == ["UNHCR Lebanon"], sources


@pytest.mark.parametrize("q", ["%", "_", "100%", "\\"])
async def test_q_wildcards_are_taken_literally(api: Api, q: str) -> None:
    every = await search(api)
    found = await search(api, q=q)
    texts = [f"{source['title']} | {source['publisher']}" for source in found]
    assert all(q in text for text in texts), texts
    assert len(found) < len(every), texts


async def test_q_with_literal_percent_finds_the_matching_title(api: Api) -> None:
    created = await add(api, title="Foreign residents: 15% of Lyon")
    assert created.status_code == 201, created.text
    titles = [source["title"] for source in await search(api, q="15%")]
    assert titles == ["Foreign residents: 15% of Lyon"], titles


async def test_get_source_has_an_etag(api: Api) -> None:
    source = await demo_source(api, SEF_TITLE)
    response = await api.get(f"/v1/sources/{source['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{source["version"]}"', response.headers


async def test_unknown_source_is_404_problem(api: Api) -> None:
    assert_problem(await api.get("/v1/sources/999999999"), 404)


# Adding


async def test_any_editor_adds_a_source(api: Api) -> None:
    response = await add(api)
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["title"] == "Recensement de la population 2021", source
    assert response.headers["Location"] == f"/v1/sources/{source['id']}", response.headers
    assert response.headers["ETag"] == '"1"', response.headers


@pytest.mark.parametrize(
    ("kind", "rank"),
    [
        ("census", 1),
        ("register", 1),
        ("administrative", 2),
        ("unhcr", 2),
        ("mc2cm_profile", 2),
        ("survey", 3),
        ("academic", 3),
        ("ngo_estimate", 4),
        ("press", 5),
        ("other", 5),
    ],
)
async def test_new_source_is_ranked_by_its_kind(api: Api, kind: str, rank: int) -> None:
    response = await add(api, kind=kind)
    assert response.status_code == 201, response.text
    assert response.json()["reliability_rank"] == rank, response.json()


async def test_explicit_reliability_rank_is_kept(api: Api) -> None:
    response = await add(api, kind="press", reliability_rank=2)
    assert response.status_code == 201, response.text
    assert response.json()["reliability_rank"] == 2, response.json()


async def test_viewer_cannot_add_a_source(api: Api) -> None:
    assert_problem(await api.post("/v1/sources", role=Api.VIEWER, json=new_source()), 403)


async def test_editor_without_cities_cannot_add_a_source(api: Api) -> None:
    assert_problem(await api.post("/v1/sources", role=Api.EDITOR, json=new_source()), 403)


async def test_anonymous_caller_cannot_add_a_source(api: Api) -> None:
    response = await api.post("/v1/sources", json=new_source())
    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers


async def test_same_title_and_url_is_409_naming_the_existing_source(api: Api) -> None:
    first = await add(api)
    assert first.status_code == 201, first.text
    problem = assert_problem(await add(api, kind="survey", publisher="Someone else"), 409)
    assert problem.get("existing_id") == first.json()["id"], problem


async def test_same_title_without_url_is_409(api: Api) -> None:
    assert (await add(api, url=None)).status_code == 201
    assert_problem(await add(api, url=None), 409)


async def test_same_title_at_another_address_is_another_source(api: Api) -> None:
    assert (await add(api)).status_code == 201
    other = await add(api, url="https://www.insee.fr/en/statistics/2021")
    assert other.status_code == 201, other.text


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("url", {"url": "ftp://insee.fr/data"}),
        ("kind", {"kind": "rumour"}),
        ("reliability_rank", {"reliability_rank": 6}),
        ("title", {"title": ""}),
        ("accessed_on", {"accessed_on": "yesterday"}),
        ("doi", {"doi": "10.1000/1"}),
    ],
)
async def test_invalid_source_is_422_naming_the_field(
    api: Api, field: str, changes: dict[str, Any]
) -> None:
    problem = assert_problem(await add(api, **changes), 422)
    assert field in error_fields(problem), problem


# Changing


async def test_admin_changes_a_source_with_if_match(api: Api) -> None:
    created = await add(api)
    source_id = created.json()["id"]
    response = await api.patch(
        f"/v1/sources/{source_id}",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={"reliability_rank": 2, "licence": "Licence Ouverte 2.0"},
    )
    assert response.status_code == 200, response.text
    source = response.json()
    assert (source["reliability_rank"], source["licence"]) == (2, "Licence Ouverte 2.0"), source
    assert response.headers["ETag"] != created.headers["ETag"], response.headers


async def test_change_without_if_match_is_428(api: Api) -> None:
    source_id = (await add(api)).json()["id"]
    response = await api.patch(
        f"/v1/sources/{source_id}", role=Api.ADMIN, json={"reliability_rank": 3}
    )
    assert_problem(response, 428)


async def test_change_with_stale_etag_is_412(api: Api) -> None:
    created = await add(api)
    source_id, etag = created.json()["id"], created.headers["ETag"]
    first = await api.patch(
        f"/v1/sources/{source_id}", role=Api.ADMIN, headers={"If-Match": etag}, json={"url": None}
    )
    assert first.status_code == 200, first.text
    second = await api.patch(
        f"/v1/sources/{source_id}",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"reliability_rank": 4},
    )
    assert_problem(second, 412)


@pytest.mark.parametrize(("role", "cities"), [(Api.EDITOR, ("FRLYS",)), (Api.VIEWER, ())])
async def test_only_admins_change_sources(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    created = await add(api)
    response = await api.patch(
        f"/v1/sources/{created.json()['id']}",
        role=role,
        cities=cities,
        headers={"If-Match": created.headers["ETag"]},
        json={"reliability_rank": 1},
    )
    assert_problem(response, 403)


async def test_change_onto_another_sources_title_and_url_is_409(api: Api) -> None:
    first = (await add(api)).json()
    second = await add(api, url="https://www.insee.fr/other")
    response = await api.patch(
        f"/v1/sources/{second.json()['id']}",
        role=Api.ADMIN,
        headers={"If-Match": second.headers["ETag"]},
        json={"url": first["url"]},
    )
    problem = assert_problem(response, 409)
    assert problem.get("existing_id") == first["id"], problem


@pytest.mark.parametrize("field", ["title", "kind", "reliability_rank"])
async def test_explicit_null_on_a_required_field_is_422(api: Api, field: str) -> None:
    created = await add(api)
    response = await api.patch(
        f"/v1/sources/{created.json()['id']}",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={field: None},
    )
    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem


# Removing


async def test_cited_source_cannot_be_removed(api: Api) -> None:
    source = await demo_source(api, SEF_TITLE)
    assert_problem(await api.delete(f"/v1/sources/{source['id']}", role=Api.ADMIN), 409)
    assert (await api.get(f"/v1/sources/{source['id']}")).status_code == 200


async def test_uncited_source_is_removed_by_an_admin(api: Api) -> None:
    created = await add(api)
    source_id = created.json()["id"]
    response = await api.delete(
        f"/v1/sources/{source_id}", role=Api.ADMIN, headers={"If-Match": created.headers["ETag"]}
    )
    assert response.status_code == 204, response.text
    assert_problem(await api.get(f"/v1/sources/{source_id}"), 404)


async def test_removal_with_stale_etag_is_412(api: Api) -> None:
    source_id = (await add(api)).json()["id"]
    response = await api.delete(
        f"/v1/sources/{source_id}", role=Api.ADMIN, headers={"If-Match": '"9"'}
    )
    assert_problem(response, 412)


async def test_editor_cannot_remove_the_source_they_added(api: Api) -> None:
    source_id = (await add(api)).json()["id"]
    response = await api.delete(f"/v1/sources/{source_id}", role=Api.EDITOR, cities=("FRLYS",))
    assert_problem(response, 403)
    assert (await api.get(f"/v1/sources/{source_id}")).status_code == 200


# Concurrent writers


async def test_second_writer_with_the_same_etag_gets_412_not_a_lost_update(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    async with own_database.sessionmaker() as setup, setup.begin():
        created = await service.create_source(
            setup, admin, SourceCreate.model_validate(new_source())
        )

    def change(rank: int) -> SourceUpdate:
        return SourceUpdate.model_validate({"reliability_rank": rank})

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.update_source(first, admin, created.id, change(2), if_match='"1"')
        racing = asyncio.create_task(
            service.update_source(second, admin, created.id, change(3), if_match='"1"')
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the first one's commit"
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
    async with own_database.sessionmaker() as check:
        source = await service.get_source(check, created.id)
        assert (source.reliability_rank, source.version) == (2, 2), source.reliability_rank
