"""Profile sections: writing with If-Match, the editorial workflow, what the public reads."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.profiles_api.cities.schemas import CityCreate
from services.profiles_api.cities.service import create_city
from services.profiles_api.sections import service
from services.profiles_api.sections.schemas import SectionWrite
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import PreconditionFailed
from tests.factories import Api, assert_problem, error_fields
from tests.waiting import wait_until_blocked_by

PORTO_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTOPO",)}
URL = "/v1/cities/PTOPO/sections/health"
FIRST = {
    "title": {"en": "Health", "fr": "Santé"},
    "narrative": {
        "en": "Migrants register with the municipal health service.",
        "fr": "Les personnes migrantes s'inscrivent au service municipal de santé.",
    },
}
SECOND = {
    "title": {"en": "Health", "fr": "Santé"},
    "narrative": {
        "en": "Every resident, whatever their status, may register.",
        "fr": "Chaque résident, quel que soit son statut, peut s'inscrire.",
    },
}
PORTO = {
    "code": "PTOPO",
    "names": {"en": "Porto"},
    "country": "PT",
    "region": "europe",
    "timezone": "Europe/Lisbon",
    "membership": {"status": "expected"},
}


@pytest.fixture
async def api(api: Api) -> Api:
    """The profiles client, with Porto in the network: a city of these tests' own, without
    the published sections the demo data gives the network's cities."""
    created = await api.post("/v1/cities", role=Api.ADMIN, json=PORTO)
    assert created.status_code == 201, created.text
    return api


async def write(api: Api, body: dict[str, Any], etag: str | None = None) -> httpx.Response:
    headers = {"If-Match": etag} if etag else {}
    return await api.put(URL, headers=headers, json=body, **PORTO_EDITOR)


async def move(api: Api, status: str, etag: str) -> httpx.Response:
    return await api.post(
        f"{URL}/status", headers={"If-Match": etag}, json={"status": status}, **PORTO_EDITOR
    )


async def published(api: Api, body: dict[str, Any] = FIRST) -> str:
    """Write the Porto health section and publish it; its ETag after publication."""
    created = await write(api, body)
    assert created.status_code == 201, created.text
    in_review = await move(api, "in_review", created.headers["ETag"])
    assert in_review.status_code == 200, in_review.text
    done = await move(api, "published", in_review.headers["ETag"])
    assert done.status_code == 200, done.text
    return done.headers["ETag"]


# Writing


async def test_editor_of_porto_creates_a_draft_section(api: Api) -> None:
    response = await write(api, FIRST)
    assert response.status_code == 201, response.text
    section = response.json()
    assert (section["city"], section["code"], section["status"]) == ("PTOPO", "health", "draft")
    assert section["view"] == "working" and section["published_version"] is None, section
    assert section["narrative"] == FIRST["narrative"]["en"], section
    assert response.headers["ETag"] == f'"{section["version"]}"', response.headers
    assert response.headers["Location"] == URL, response.headers


async def test_admin_may_write_any_citys_section(api: Api) -> None:
    response = await api.put(
        "/v1/cities/PTOPO/sections/synopsis", role=Api.ADMIN, json={"narrative": {"en": "Amman."}}
    )
    assert response.status_code == 201, response.text


async def test_rewriting_without_if_match_is_428(api: Api) -> None:
    assert (await write(api, FIRST)).status_code == 201
    assert_problem(await write(api, SECOND), 428)
    working = (await api.get(URL, **PORTO_EDITOR)).json()
    assert working["narrative"] == FIRST["narrative"]["en"], working


async def test_rewriting_with_stale_etag_is_412(api: Api) -> None:
    created = await write(api, FIRST)
    changed = await write(api, SECOND, created.headers["ETag"])
    assert changed.status_code == 200, changed.text
    problem = assert_problem(await write(api, FIRST, created.headers["ETag"]), 412)
    assert problem.get("current_etag") == changed.headers["ETag"], problem


async def test_rewriting_with_current_etag_replaces_the_text(api: Api) -> None:
    created = await write(api, FIRST)
    response = await write(api, SECOND, created.headers["ETag"])
    assert response.status_code == 200, response.text
    assert response.json()["narrative"] == SECOND["narrative"]["en"], response.json()
    assert response.headers["ETag"] != created.headers["ETag"], response.headers


async def test_if_match_on_a_section_that_does_not_exist_is_412(api: Api) -> None:
    assert_problem(await write(api, FIRST, '"1"'), 412)
    assert_problem(await api.get(URL, **PORTO_EDITOR), 404)


async def test_editor_of_porto_cannot_write_turins_section(api: Api) -> None:
    response = await api.put(
        "/v1/cities/ITTRN/sections/health", json=FIRST, role=Api.EDITOR, cities=("PTOPO",)
    )
    assert_problem(response, 403)
    assert_problem(await api.get("/v1/cities/ITTRN/sections/health", role=Api.ADMIN), 404)


async def test_editor_of_porto_cannot_publish_or_remove_turins_section(api: Api) -> None:
    created = await api.put("/v1/cities/ITTRN/sections/health", json=FIRST, role=Api.ADMIN)
    assert created.status_code == 201, created.text
    etag = created.headers["ETag"]
    moved = await api.post(
        "/v1/cities/ITTRN/sections/health/status",
        headers={"If-Match": etag},
        json={"status": "in_review"},
        **PORTO_EDITOR,
    )
    assert_problem(moved, 403)
    removed = await api.delete(
        "/v1/cities/ITTRN/sections/health", headers={"If-Match": etag}, **PORTO_EDITOR
    )
    assert_problem(removed, 403)


async def test_viewer_cannot_write_a_section(api: Api) -> None:
    assert_problem(await api.put(URL, role=Api.VIEWER, json=FIRST), 403)


async def test_anonymous_caller_cannot_write_a_section(api: Api) -> None:
    assert_problem(await api.put(URL, json=FIRST), 401)


async def test_unknown_section_code_is_422_naming_section(api: Api) -> None:
    response = await api.put("/v1/cities/PTOPO/sections/gossip", json=FIRST, **PORTO_EDITOR)
    problem = assert_problem(response, 422)
    assert "section" in error_fields(problem), problem


async def test_narrative_without_english_is_422(api: Api) -> None:
    response = await write(api, {"narrative": {"fr": "Seulement en français."}})
    problem = assert_problem(response, 422)
    assert "narrative" in error_fields(problem), problem


async def test_section_of_unknown_city_is_404(api: Api) -> None:
    response = await api.put("/v1/cities/XXABC/sections/health", role=Api.ADMIN, json=FIRST)
    assert_problem(response, 404)


@pytest.mark.parametrize("code", ["synopsis", "national_context", "data_reflections", "housing"])
async def test_framing_chapters_and_themes_are_sections(api: Api, code: str) -> None:
    response = await api.put(
        f"/v1/cities/PTOPO/sections/{code}", json={"narrative": {"en": "…"}}, **PORTO_EDITOR
    )
    assert response.status_code == 201, response.text


# Workflow


async def test_section_goes_from_draft_through_review_to_published(api: Api) -> None:
    created = await write(api, FIRST)
    in_review = await move(api, "in_review", created.headers["ETag"])
    assert in_review.status_code == 200, in_review.text
    assert in_review.json()["status"] == "in_review", in_review.json()
    done = await move(api, "published", in_review.headers["ETag"])
    assert done.status_code == 200, done.text
    section = done.json()
    assert section["status"] == "published", section
    assert section["published_version"] == section["version"], section
    assert section["published_at"] is not None, section


async def test_status_change_without_if_match_is_428(api: Api) -> None:
    assert (await write(api, FIRST)).status_code == 201
    response = await api.post(f"{URL}/status", json={"status": "in_review"}, **PORTO_EDITOR)
    assert_problem(response, 428)


async def test_status_change_with_stale_etag_is_412(api: Api) -> None:
    created = await write(api, FIRST)
    assert (await write(api, SECOND, created.headers["ETag"])).status_code == 200
    assert_problem(await move(api, "in_review", created.headers["ETag"]), 412)
    assert (await api.get(URL, **PORTO_EDITOR)).json()["status"] == "draft"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "published"),
        ([], "draft"),
        (["in_review"], "in_review"),
        (["in_review", "published"], "in_review"),
        (["in_review", "published"], "published"),
    ],
)
async def test_illegal_transition_is_409(api: Api, path: list[str], illegal: str) -> None:
    etag = (await write(api, FIRST)).headers["ETag"]
    for status in path:
        response = await move(api, status, etag)
        assert response.status_code == 200, response.text
        etag = response.headers["ETag"]
    problem = assert_problem(await move(api, illegal, etag), 409)
    assert problem.get("status_to") == illegal, problem


async def test_reviewer_may_send_a_section_back_to_draft(api: Api) -> None:
    created = await write(api, FIRST)
    in_review = await move(api, "in_review", created.headers["ETag"])
    back = await move(api, "draft", in_review.headers["ETag"])
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "draft", back.json()


async def test_unknown_status_is_422(api: Api) -> None:
    created = await write(api, FIRST)
    problem = assert_problem(await move(api, "archived", created.headers["ETag"]), 422)
    assert "status" in error_fields(problem), problem


# What the public reads


async def test_anonymous_caller_gets_404_before_publication(api: Api) -> None:
    created = await write(api, FIRST)
    assert_problem(await api.get(URL), 404)
    assert (await move(api, "in_review", created.headers["ETag"])).status_code == 200
    assert_problem(await api.get(URL), 404)
    listed = await api.get("/v1/cities/PTOPO/sections")
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [], "next_cursor": None}, listed.text


async def test_anonymous_caller_reads_the_published_section(api: Api) -> None:
    await published(api)
    response = await api.get(URL)
    assert response.status_code == 200, response.text
    section = response.json()
    assert (section["view"], section["status"]) == ("published", "published"), section
    assert section["narrative"] == FIRST["narrative"]["en"], section
    assert "ETag" in response.headers, response.headers


async def test_new_draft_leaves_the_published_text_public(api: Api) -> None:
    etag = await published(api)
    rewritten = await write(api, SECOND, etag)
    assert rewritten.status_code == 200, rewritten.text
    assert rewritten.json()["status"] == "draft", rewritten.json()

    public = (await api.get(URL)).json()
    assert public["narrative"] == FIRST["narrative"]["en"], public
    assert public["status"] == "published", public
    listed = (await api.get("/v1/cities/PTOPO/sections")).json()["items"]
    assert [s["narrative"] for s in listed] == [FIRST["narrative"]["en"]], listed

    working = (await api.get(URL, **PORTO_EDITOR)).json()
    assert (working["narrative"], working["status"]) == (SECOND["narrative"]["en"], "draft")


async def test_publishing_the_new_draft_replaces_the_public_text(api: Api) -> None:
    etag = await published(api)
    rewritten = await write(api, SECOND, etag)
    in_review = await move(api, "in_review", rewritten.headers["ETag"])
    done = await move(api, "published", in_review.headers["ETag"])
    assert done.status_code == 200, done.text
    public = (await api.get(URL)).json()
    assert public["narrative"] == SECOND["narrative"]["en"], public


async def test_token_holder_may_ask_for_the_published_view(api: Api) -> None:
    etag = await published(api)
    assert (await write(api, SECOND, etag)).status_code == 200
    response = await api.get(URL, params={"view": "published"}, role=Api.VIEWER)
    assert response.json()["narrative"] == FIRST["narrative"]["en"], response.json()


async def test_anonymous_working_view_is_401(api: Api) -> None:
    await published(api)
    response = await api.get(URL, params={"view": "working"})
    assert_problem(response, 401)
    assert_problem(await api.get("/v1/cities/PTOPO/sections", params={"view": "working"}), 401)


async def test_token_holders_list_working_copies_including_drafts(api: Api) -> None:
    await published(api)
    draft = await api.put(
        "/v1/cities/PTOPO/sections/housing", json={"narrative": {"en": "Draft."}}, **PORTO_EDITOR
    )
    assert draft.status_code == 201, draft.text
    working = (await api.get("/v1/cities/PTOPO/sections", role=Api.VIEWER)).json()["items"]
    assert [(s["code"], s["status"]) for s in working] == [
        ("health", "published"),
        ("housing", "draft"),
    ], working
    public = (await api.get("/v1/cities/PTOPO/sections")).json()["items"]
    assert [s["code"] for s in public] == ["health"], public


async def test_sections_of_unknown_city_are_404(api: Api) -> None:
    assert_problem(await api.get("/v1/cities/XXABC/sections"), 404)


# Languages


async def test_accept_language_picks_the_narrative(api: Api) -> None:
    await published(api)
    response = await api.get(URL, headers={"Accept-Language": "fr-FR, en;q=0.5"})
    section = response.json()
    assert (section["title"], section["language"]) == ("Santé", "fr"), section
    assert section["narrative"] == FIRST["narrative"]["fr"], section
    assert response.headers["Content-Language"] == "fr", response.headers


async def test_narrative_without_the_language_falls_back_to_english(api: Api) -> None:
    await published(api)
    response = await api.get(URL, headers={"Accept-Language": "ar"})
    section = response.json()
    assert (section["narrative"], section["language"]) == (FIRST["narrative"]["en"], "en")
    assert response.headers["Content-Language"] == "en", response.headers


# Removing


async def test_editor_removes_a_section_and_its_published_copy(api: Api) -> None:
    etag = await published(api)
    response = await api.delete(URL, headers={"If-Match": etag}, **PORTO_EDITOR)
    assert response.status_code == 204, response.text
    assert_problem(await api.get(URL), 404)


async def test_removing_with_stale_etag_is_412(api: Api) -> None:
    created = await write(api, FIRST)
    assert (await write(api, SECOND, created.headers["ETag"])).status_code == 200
    response = await api.delete(URL, headers={"If-Match": created.headers["ETag"]}, **PORTO_EDITOR)
    assert_problem(response, 412)


# Concurrent writers


LISBON = CityCreate.model_validate(
    {
        "code": "PTLIS",
        "names": {"en": "Lisbon"},
        "country": "PT",
        "region": "europe",
        "timezone": "Europe/Lisbon",
        "membership": {"status": "confirmed"},
    }
)


async def test_second_writer_with_the_same_etag_gets_412_not_a_lost_update(
    own_database: Database,
) -> None:
    editor = Principal(subject="editor@test", role=Role.editor, cities=frozenset({"PTLIS"}))
    admin = Principal(subject="admin@test", role=Role.admin)

    def text(narrative: str) -> SectionWrite:
        return SectionWrite.model_validate({"narrative": {"en": narrative}})

    async with own_database.sessionmaker() as setup, setup.begin():
        await create_city(setup, admin, LISBON)
        await service.write_section(setup, editor, "PTLIS", "health", text("Draft."), if_match=None)

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.write_section(first, editor, "PTLIS", "health", text("One."), if_match='"1"')
        racing = asyncio.create_task(
            service.write_section(second, editor, "PTLIS", "health", text("Two."), if_match='"1"')
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the first one's commit"
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
    async with own_database.sessionmaker() as check:
        section = await service.get_section(check, "PTLIS", "health")
        assert (section.narrative, section.version) == ({"en": "One."}, 2), section.narrative


async def test_public_readers_see_the_published_version_not_the_drafts(api: Api) -> None:
    etag = await published(api)
    public = await api.get(URL)
    rewritten = await write(api, SECOND, etag)
    assert rewritten.status_code == 200, rewritten.text

    after = await api.get(URL)

    assert after.headers["ETag"] == public.headers["ETag"], "a draft showed through the ETag"
    assert (
        after.json()["version"] == public.json()["version"] == public.json()["published_version"]
    ), after.json()
    assert after.json()["updated_at"] == public.json()["updated_at"], after.json()
