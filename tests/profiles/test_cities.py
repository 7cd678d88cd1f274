"""Cities: listing, reading, the admin-only lifecycle, editors' limits, languages, outbox events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities import service
from services.profiles_api.cities.schemas import CityCreate, CityUpdate
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import PreconditionFailed
from tests.factories import (
    Api,
    assert_problem,
    error_fields,
    new_city,
    outbox_position,
    outbox_since,
)
from tests.waiting import wait_until_blocked_by

DEMO_CODES = {"PTLIS", "ESMAD", "FRLYS", "ITTRN", "MATNG", "TNTUN", "LBBEY", "JOAMM", "ATVIE"}
FOCAL_POINTS = [
    {
        "kind": "political",
        "name": "Ana Silva",
        "position": "Deputy Mayor",
        "email": "ana.silva@example.org",
    },
    {"kind": "technical", "name": "Rui Costa", "organisation": "Social Rights Department"},
]


async def city_etag(api: Api, code: str) -> str:
    response = await api.get(f"/v1/cities/{code}")
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


# Listing


async def test_anonymous_caller_lists_the_nine_demo_cities_in_code_order(api: Api) -> None:
    response = await api.get("/v1/cities")
    assert response.status_code == 200, response.text
    codes = [city["code"] for city in response.json()["items"]]
    assert set(codes) == DEMO_CODES, codes
    assert codes == sorted(codes), codes
    assert response.json()["next_cursor"] is None, response.json()["next_cursor"]


async def test_membership_filter_lists_only_expected_cities(api: Api) -> None:
    response = await api.get("/v1/cities", params={"membership": "expected"})
    assert response.status_code == 200, response.text
    codes = [city["code"] for city in response.json()["items"]]
    assert codes == ["ATVIE"], codes


async def test_region_filter_lists_only_cities_of_that_region(api: Api) -> None:
    response = await api.get("/v1/cities", params={"region": "middle_east"})
    assert response.status_code == 200, response.text
    codes = {city["code"] for city in response.json()["items"]}
    assert codes == {"LBBEY", "JOAMM"}, codes


async def test_country_filter_lists_only_cities_of_that_country(api: Api) -> None:
    response = await api.get("/v1/cities", params={"country": "FR"})
    assert response.status_code == 200, response.text
    codes = [city["code"] for city in response.json()["items"]]
    assert codes == ["FRLYS"], codes


async def test_filters_combine(api: Api) -> None:
    response = await api.get(
        "/v1/cities", params={"region": "europe", "membership": "confirmed", "country": "AT"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [], response.json()["items"]


@pytest.mark.parametrize(
    ("name", "value"), [("region", "asia"), ("membership", "maybe"), ("country", "fra")]
)
async def test_unknown_filter_value_is_422_naming_the_parameter(
    api: Api, name: str, value: str
) -> None:
    problem = assert_problem(await api.get("/v1/cities", params={name: value}), 422)
    assert name in error_fields(problem), problem


async def test_pages_follow_next_cursor_without_gaps_or_repeats(api: Api) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/v1/cities", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        sizes.append(len(page["items"]))
        seen.extend(city["code"] for city in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [4, 4, 1], sizes
    assert seen == sorted(DEMO_CODES), seen


async def test_forged_cursor_is_422_naming_cursor(api: Api) -> None:
    problem = assert_problem(await api.get("/v1/cities", params={"cursor": "not-ours!"}), 422)
    assert error_fields(problem) == {"cursor"}, problem


async def test_limit_above_the_cap_is_422_naming_limit(api: Api) -> None:
    too_many = api.settings.pagination_max_limit + 1
    problem = assert_problem(await api.get("/v1/cities", params={"limit": too_many}), 422)
    assert error_fields(problem) == {"limit"}, problem


# Reading one


async def test_get_city_has_an_etag_of_its_version(api: Api) -> None:
    response = await api.get("/v1/cities/PTLIS")
    assert response.status_code == 200, response.text
    city = response.json()
    assert city["code"] == "PTLIS" and city["country"] == "PT", city
    assert city["membership"]["status"] == "confirmed", city["membership"]
    assert response.headers.get("ETag") == f'"{city["version"]}"', response.headers.get("ETag")


async def test_unknown_city_is_404_problem_document(api: Api) -> None:
    problem = assert_problem(await api.get("/v1/cities/XXABC"), 404)
    assert problem["type"] == "urn:mc2cm:problem:not-found", problem
    assert problem["instance"] == "/v1/cities/XXABC", problem
    assert "XXABC" in problem["detail"], problem


async def test_malformed_city_code_in_path_is_422_naming_code(api: Api) -> None:
    problem = assert_problem(await api.get("/v1/cities/lisbon"), 422)
    assert "code" in error_fields(problem), problem


# Creating


async def test_admin_adds_a_city(api: Api) -> None:
    response = await api.post("/v1/cities", role=Api.ADMIN, json=new_city())
    assert response.status_code == 201, response.text
    city = response.json()
    assert city["code"] == "GRATH" and city["name"] == "Athens", city
    assert city["membership"] == {"status": "expected", "since": "2026-01-15"}, city
    assert response.headers["Location"] == "/v1/cities/GRATH", response.headers
    assert response.headers["ETag"] == f'"{city["version"]}"', response.headers
    listed = await api.get("/v1/cities", params={"country": "GR"})
    assert [c["code"] for c in listed.json()["items"]] == ["GRATH"], listed.text


async def test_anonymous_caller_cannot_add_a_city(api: Api) -> None:
    response = await api.post("/v1/cities", json=new_city())
    assert_problem(response, 401)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge


async def test_garbage_token_is_401_not_anonymous(api: Api) -> None:
    response = await api.get("/v1/cities", headers={"Authorization": "Bearer not.a.jwt"})
    assert_problem(response, 401)


@pytest.mark.parametrize(
    ("role", "cities"), [(Api.VIEWER, ()), (Api.EDITOR, ("PTLIS",)), (Api.EDITOR, ("GRATH",))]
)
async def test_only_admins_add_cities(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    response = await api.post("/v1/cities", role=role, cities=cities, json=new_city())
    assert_problem(response, 403)
    assert (await api.get("/v1/cities/GRATH")).status_code == 404


async def test_adding_an_existing_code_is_409(api: Api) -> None:
    body = new_city(code="PTLIS", country="PT", timezone="Europe/Lisbon")
    problem = assert_problem(await api.post("/v1/cities", role=Api.ADMIN, json=body), 409)
    assert "PTLIS" in problem["detail"], problem
    names = (await api.get("/v1/cities/PTLIS")).json()["names"]
    assert names["en"] == "Lisbon", names


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("code", {"code": "GR ATH"}),
        ("code", {"code": "grath"}),
        ("names", {"names": {"fr": "Athènes"}}),
        ("timezone", {"timezone": "Europe/Atlantis"}),
        ("latitude", {"latitude": 91}),
        ("longitude", {"longitude": -181}),
        ("country", {"country": "GRC"}),
        ("region", {"region": "balkans"}),
        ("nickname", {"nickname": "the city of Athena"}),
    ],
)
async def test_invalid_city_is_422_naming_the_field(
    api: Api, field: str, changes: dict[str, Any]
) -> None:
    response = await api.post("/v1/cities", role=Api.ADMIN, json=new_city(**changes))
    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem


async def test_every_invalid_city_field_is_named_in_one_response(api: Api) -> None:
    body = new_city(
        code="athens",
        names={"el": "Αθήνα"},
        timezone="Mars/Olympus",
        latitude=123.4,
        nickname="x",
    )
    problem = assert_problem(await api.post("/v1/cities", role=Api.ADMIN, json=body), 422)
    expected = {"code", "names", "timezone", "latitude", "nickname"}
    assert expected <= error_fields(problem), problem
    for error in problem["errors"]:
        assert error["location"] == "body", error


async def test_missing_required_field_is_422_naming_it(api: Api) -> None:
    body = new_city()
    del body["timezone"]
    problem = assert_problem(await api.post("/v1/cities", role=Api.ADMIN, json=body), 422)
    assert error_fields(problem) == {"timezone"}, problem


# Changing


async def test_change_without_if_match_is_428(api: Api) -> None:
    response = await api.patch("/v1/cities/PTLIS", role=Api.ADMIN, json={"names": {"en": "Lisboa"}})
    assert_problem(response, 428)
    assert (await api.get("/v1/cities/PTLIS")).json()["names"]["en"] == "Lisbon"


async def test_change_with_stale_etag_is_412(api: Api) -> None:
    etag = await city_etag(api, "PTLIS")
    first = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"latitude": 38.7},
    )
    assert first.status_code == 200, first.text
    second = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"latitude": 40.0},
    )
    problem = assert_problem(second, 412)
    assert problem.get("current_etag") == first.headers["ETag"], problem
    assert (await api.get("/v1/cities/PTLIS")).json()["latitude"] == 38.7


async def test_change_with_current_etag_applies_and_returns_a_new_etag(api: Api) -> None:
    etag = await city_etag(api, "ATVIE")
    response = await api.patch(
        "/v1/cities/ATVIE",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"membership": {"status": "confirmed", "since": "2026-06-01"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["membership"] == {"status": "confirmed", "since": "2026-06-01"}
    new_etag = response.headers["ETag"]
    assert new_etag != etag, (etag, new_etag)
    assert await city_etag(api, "ATVIE") == new_etag
    expected = await api.get("/v1/cities", params={"membership": "expected"})
    assert expected.json()["items"] == [], expected.text


async def test_a_weak_etag_does_not_match_the_current_version(api: Api) -> None:
    # If-Match compares strongly (RFC 9110 §13.1.1): a weak tag never matches.
    etag = await city_etag(api, "PTLIS")
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.ADMIN,
        headers={"If-Match": f"W/{etag}"},
        json={"longitude": -9.14},
    )
    assert response.status_code == 412, response.text
    assert await city_etag(api, "PTLIS") == etag


async def test_editor_of_lisbon_may_change_its_names_and_focal_points(api: Api) -> None:
    etag = await city_etag(api, "PTLIS")
    names = {"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa", "es": "Lisboa"}
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.EDITOR,
        cities=("PTLIS",),
        headers={"If-Match": etag},
        json={"names": names, "focal_points": FOCAL_POINTS},
    )
    assert response.status_code == 200, response.text
    city = response.json()
    assert city["names"] == names, city["names"]
    assert [fp["name"] for fp in city["focal_points"]] == ["Ana Silva", "Rui Costa"], city


@pytest.mark.parametrize(
    "changes",
    [
        {"membership": {"status": "expected"}},
        {"region": "south_mediterranean"},
        {"country": "ES"},
    ],
)
async def test_editor_of_lisbon_cannot_change_its_place_in_the_network(
    api: Api, changes: dict[str, Any]
) -> None:
    etag = await city_etag(api, "PTLIS")
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.EDITOR,
        cities=("PTLIS",),
        headers={"If-Match": etag},
        json=changes,
    )
    problem = assert_problem(response, 403)
    assert problem.get("fields") == list(changes), problem
    assert await city_etag(api, "PTLIS") == etag


async def test_editor_of_lisbon_cannot_change_turin(api: Api) -> None:
    etag = await city_etag(api, "ITTRN")
    response = await api.patch(
        "/v1/cities/ITTRN",
        role=Api.EDITOR,
        cities=("PTLIS",),
        headers={"If-Match": etag},
        json={"names": {"en": "Lisbon annex"}},
    )
    assert_problem(response, 403)
    assert (await api.get("/v1/cities/ITTRN")).json()["names"]["en"] == "Turin"


async def test_viewer_cannot_change_a_city(api: Api) -> None:
    etag = await city_etag(api, "PTLIS")
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.VIEWER,
        headers={"If-Match": etag},
        json={"latitude": 0},
    )
    assert_problem(response, 403)


async def test_anonymous_caller_cannot_change_a_city(api: Api) -> None:
    etag = await city_etag(api, "PTLIS")
    response = await api.patch("/v1/cities/PTLIS", headers={"If-Match": etag}, json={"latitude": 0})
    assert_problem(response, 401)


@pytest.mark.parametrize("field", ["names", "timezone", "country", "membership", "focal_points"])
async def test_explicit_null_on_a_required_field_is_422(api: Api, field: str) -> None:
    etag = await city_etag(api, "PTLIS")
    response = await api.patch(
        "/v1/cities/PTLIS", role=Api.ADMIN, headers={"If-Match": etag}, json={field: None}
    )
    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem


async def test_null_latitude_and_longitude_clear_the_location(api: Api) -> None:
    etag = await city_etag(api, "PTLIS")
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"latitude": None, "longitude": None},
    )
    assert response.status_code == 200, response.text
    city = response.json()
    assert (city["latitude"], city["longitude"]) == (None, None), city
    assert city["names"]["en"] == "Lisbon", "fields not sent must stay as they were"


async def test_change_of_unknown_city_is_404(api: Api) -> None:
    response = await api.patch(
        "/v1/cities/XXABC", role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"latitude": 1}
    )
    assert_problem(response, 404)


# Removing


async def test_city_with_observations_cannot_be_removed(api: Api) -> None:
    problem = assert_problem(await api.delete("/v1/cities/ESMAD", role=Api.ADMIN), 409)
    assert "observations" in problem.get("dependent", []), problem
    assert (await api.get("/v1/cities/ESMAD")).status_code == 200


async def test_admin_removes_a_new_empty_city(api: Api) -> None:
    created = await api.post("/v1/cities", role=Api.ADMIN, json=new_city())
    assert created.status_code == 201, created.text
    response = await api.delete(
        "/v1/cities/GRATH", role=Api.ADMIN, headers={"If-Match": created.headers["ETag"]}
    )
    assert response.status_code == 204, response.text
    assert_problem(await api.get("/v1/cities/GRATH"), 404)


async def test_delete_with_a_blank_if_match_is_428_and_keeps_the_city(api: Api) -> None:
    assert (await api.post("/v1/cities", role=Api.ADMIN, json=new_city())).status_code == 201
    response = await api.delete("/v1/cities/GRATH", role=Api.ADMIN, headers={"If-Match": " "})
    assert_problem(response, 428)
    assert (await api.get("/v1/cities/GRATH")).status_code == 200


async def test_delete_with_a_stale_if_match_is_412_and_keeps_the_city(api: Api) -> None:
    assert (await api.post("/v1/cities", role=Api.ADMIN, json=new_city())).status_code == 201
    response = await api.delete("/v1/cities/GRATH", role=Api.ADMIN, headers={"If-Match": '"9"'})
    assert_problem(response, 412)
    assert (await api.get("/v1/cities/GRATH")).status_code == 200


async def test_city_with_only_a_challenge_cannot_be_removed(api: Api) -> None:
    assert (await api.post("/v1/cities", role=Api.ADMIN, json=new_city())).status_code == 201
    challenge = await api.post(
        "/v1/cities/GRATH/challenges",
        role=Api.ADMIN,
        json={"theme": "housing", "need_type": "resources", "description": {"en": "Shelters"}},
    )
    assert challenge.status_code == 201, challenge.text
    problem = assert_problem(await api.delete("/v1/cities/GRATH", role=Api.ADMIN), 409)
    assert problem.get("dependent") == ["challenges"], problem


async def test_removal_with_stale_etag_is_412(api: Api) -> None:
    created = await api.post("/v1/cities", role=Api.ADMIN, json=new_city())
    assert created.status_code == 201, created.text
    changed = await api.patch(
        "/v1/cities/GRATH",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={"latitude": 38.0},
    )
    assert changed.status_code == 200, changed.text
    response = await api.delete(
        "/v1/cities/GRATH", role=Api.ADMIN, headers={"If-Match": created.headers["ETag"]}
    )
    assert_problem(response, 412)
    assert (await api.get("/v1/cities/GRATH")).status_code == 200


@pytest.mark.parametrize(("role", "cities"), [(Api.EDITOR, ("GRATH",)), (Api.VIEWER, ())])
async def test_only_admins_remove_cities(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    assert (await api.post("/v1/cities", role=Api.ADMIN, json=new_city())).status_code == 201
    assert_problem(await api.delete("/v1/cities/GRATH", role=role, cities=cities), 403)
    assert (await api.get("/v1/cities/GRATH")).status_code == 200


async def test_anonymous_caller_cannot_remove_a_city(api: Api) -> None:
    assert_problem(await api.delete("/v1/cities/ATVIE"), 401)


# Focal points


async def _give_lisbon_focal_points(api: Api) -> None:
    response = await api.patch(
        "/v1/cities/PTLIS",
        role=Api.ADMIN,
        headers={"If-Match": await city_etag(api, "PTLIS")},
        json={"focal_points": FOCAL_POINTS},
    )
    assert response.status_code == 200, response.text


async def test_focal_points_are_hidden_from_anonymous_callers(api: Api) -> None:
    await _give_lisbon_focal_points(api)
    city = (await api.get("/v1/cities/PTLIS")).json()
    assert city["focal_points"] is None, city["focal_points"]
    listed = (await api.get("/v1/cities", params={"country": "PT"})).json()["items"]
    assert listed[0]["focal_points"] is None, listed


@pytest.mark.parametrize(
    ("role", "cities"), [(Api.VIEWER, ()), (Api.EDITOR, ("ITTRN",)), (Api.ADMIN, ())]
)
async def test_focal_points_are_shown_to_token_holders(
    api: Api, role: Any, cities: tuple[str, ...]
) -> None:
    await _give_lisbon_focal_points(api)
    city = (await api.get("/v1/cities/PTLIS", role=role, cities=cities)).json()
    emails = [fp.get("email") for fp in city["focal_points"]]
    assert emails == ["ana.silva@example.org", None], city["focal_points"]
    listed = await api.get("/v1/cities", role=role, cities=cities, params={"country": "PT"})
    assert len(listed.json()["items"][0]["focal_points"]) == 2, listed.text


async def test_focal_point_with_bad_email_is_422(api: Api) -> None:
    body = new_city(focal_points=[{"kind": "political", "name": "X", "email": "not-an-email"}])
    problem = assert_problem(await api.post("/v1/cities", role=Api.ADMIN, json=body), 422)
    assert "focal_points.0.email" in error_fields(problem), problem


# Languages


async def test_french_reader_gets_lisbonne(api: Api) -> None:
    response = await api.get("/v1/cities/PTLIS", headers={"Accept-Language": "fr"})
    assert response.status_code == 200, response.text
    city = response.json()
    assert (city["name"], city["language"]) == ("Lisbonne", "fr"), city
    assert response.headers["Content-Language"] == "fr", response.headers


async def test_language_without_translation_falls_back_to_english_and_says_so(
    api: Api,
) -> None:
    response = await api.get("/v1/cities/PTLIS", headers={"Accept-Language": "sv"})
    city = response.json()
    assert (city["name"], city["language"]) == ("Lisbon", "en"), city
    assert response.headers["Content-Language"] == "en", response.headers


async def test_best_weighted_language_wins_and_regional_tags_use_their_base(api: Api) -> None:
    weighted = await api.get(
        "/v1/cities/PTLIS", headers={"Accept-Language": "es;q=0.3, fr;q=0.9, en;q=0.5"}
    )
    assert weighted.json()["name"] == "Lisbonne", weighted.json()
    regional = await api.get("/v1/cities/PTLIS", headers={"Accept-Language": "pt-BR"})
    assert (regional.json()["name"], regional.json()["language"]) == ("Lisboa", "pt")


async def test_list_names_follow_accept_language(api: Api) -> None:
    response = await api.get(
        "/v1/cities", params={"country": "AT"}, headers={"Accept-Language": "de"}
    )
    vienna = response.json()["items"][0]
    assert (vienna["name"], vienna["language"]) == ("Wien", "de"), vienna


# Outbox


async def test_adding_a_city_writes_city_upserted_in_the_outbox(
    api: Api, session: AsyncSession
) -> None:
    before = await outbox_position(session)
    response = await api.post("/v1/cities", role=Api.ADMIN, json=new_city())
    assert response.status_code == 201, response.text
    events = await outbox_since(session, before)
    assert [event["type"] for event in events] == ["city.upserted"], events
    envelope = events[0]["envelope"]
    assert envelope["source"] == "profiles" and envelope["actor"] == "admin@test", envelope
    assert envelope["data"]["city"]["code"] == "GRATH", envelope
    assert envelope["data"]["city"]["membership_status"] == "expected", envelope


async def test_changing_a_city_writes_city_upserted_with_the_new_state(
    api: Api, session: AsyncSession
) -> None:
    before = await outbox_position(session)
    response = await api.patch(
        "/v1/cities/ATVIE",
        role=Api.ADMIN,
        headers={"If-Match": await city_etag(api, "ATVIE")},
        json={"membership": {"status": "confirmed"}},
    )
    assert response.status_code == 200, response.text
    events = await outbox_since(session, before)
    assert [event["type"] for event in events] == ["city.upserted"], events
    city = events[0]["envelope"]["data"]["city"]
    assert (city["code"], city["membership_status"]) == ("ATVIE", "confirmed"), city


async def test_removing_a_city_writes_city_deleted(api: Api, session: AsyncSession) -> None:
    assert (await api.post("/v1/cities", role=Api.ADMIN, json=new_city())).status_code == 201
    before = await outbox_position(session)
    assert (await api.delete("/v1/cities/GRATH", role=Api.ADMIN)).status_code == 204
    events = await outbox_since(session, before)
    assert [event["type"] for event in events] == ["city.deleted"], events
    assert events[0]["envelope"]["data"] == {"code": "GRATH"}, events


async def test_refused_city_writes_leave_no_outbox_row(api: Api, session: AsyncSession) -> None:
    before = await outbox_position(session)
    etag = await city_etag(api, "PTLIS")
    refused = [
        await api.post("/v1/cities", role=Api.ADMIN, json=new_city(code="PTLIS")),
        await api.post("/v1/cities", role=Api.EDITOR, cities=("GRATH",), json=new_city()),
        await api.patch(
            "/v1/cities/PTLIS", role=Api.ADMIN, headers={"If-Match": '"99"'}, json={"latitude": 1}
        ),
        await api.patch(
            "/v1/cities/PTLIS",
            role=Api.EDITOR,
            cities=("PTLIS",),
            headers={"If-Match": etag},
            json={"region": "other"},
        ),
        await api.delete("/v1/cities/ESMAD", role=Api.ADMIN),
    ]
    assert [r.status_code for r in refused] == [409, 403, 412, 403, 409], [r.text for r in refused]
    assert await outbox_since(session, before) == []


# Concurrent writers


async def test_second_writer_with_the_same_etag_gets_412_not_a_lost_update(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    async with own_database.sessionmaker() as setup, setup.begin():
        await service.create_city(setup, admin, CityCreate.model_validate(new_city()))

    def change(latitude: float) -> CityUpdate:
        return CityUpdate.model_validate({"latitude": latitude})

    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.update_city(first, admin, "GRATH", change(1.0), if_match='"1"')
        racing = asyncio.create_task(
            service.update_city(second, admin, "GRATH", change(2.0), if_match='"1"')
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the first one's commit"
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
    async with own_database.sessionmaker() as check:
        city = await service.get_city(check, "GRATH")
        assert (city.latitude, city.version) == (1.0, 2), "the first change was overwritten"


@pytest.mark.parametrize("body", [{}, {"latitude": 38.7223, "names": {"en": "Lisbon"}}])
async def test_a_change_that_changes_nothing_keeps_the_version_and_announces_nothing(
    api: Api, session: AsyncSession, body: dict[str, Any]
) -> None:
    etag = await city_etag(api, "PTLIS")
    current = (await api.get("/v1/cities/PTLIS")).json()
    body = {key: current[key] if key != "names" else current["names"] for key in body}
    position = await outbox_position(session)

    response = await api.patch(
        "/v1/cities/PTLIS", role=Api.ADMIN, headers={"If-Match": etag}, json=body
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == etag, "a no-op change raised the version"
    assert await outbox_since(session, position) == []
