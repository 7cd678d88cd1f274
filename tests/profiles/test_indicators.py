"""The indicator catalogue: reading, admin-only changes, formulas, and what may not be removed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.profiles_api.cities.schemas import CityCreate
from services.profiles_api.cities.service import create_city
from services.profiles_api.indicators import service
from services.profiles_api.indicators.schemas import IndicatorCreate, IndicatorUpdate
from services.profiles_api.observations.schemas import ObservationBatchIn
from services.profiles_api.observations.service import write_batch
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import Conflict, PreconditionFailed
from tests.factories import Api, assert_problem, error_fields, new_indicator, observation
from tests.waiting import wait_until_blocked_by


def demo_city(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "names": {"en": "Athens"},
        "country": "GR",
        "region": "europe",
        "timezone": "Europe/Athens",
        "membership": {"status": "expected"},
    }


async def all_indicators(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/indicators", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def indicator_etag(api: Api, code: str) -> str:
    response = await api.get(f"/v1/indicators/{code}")
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def create(api: Api, **overrides: Any) -> httpx.Response:
    return await api.post("/v1/indicators", role=Api.ADMIN, json=new_indicator(**overrides))


# Reading


async def test_anonymous_caller_reads_the_42_demo_indicators(api: Api) -> None:
    indicators = await all_indicators(api)
    assert len(indicators) == 42, [i["code"] for i in indicators]
    themes = {indicator["theme"] for indicator in indicators}
    assert len(themes) == 9, f"every theme needs indicators; covered: {sorted(themes)}"


async def test_theme_filter_lists_only_that_theme(api: Api) -> None:
    indicators = await all_indicators(api, theme="employment")
    codes = {indicator["code"] for indicator in indicators}
    assert "work_permits" in codes and "foreign_nationals" not in codes, codes
    assert {indicator["theme"] for indicator in indicators} == {"employment"}, indicators


async def test_unit_filter_lists_only_that_unit(api: Api) -> None:
    indicators = await all_indicators(api, unit="score")
    assert [i["code"] for i in indicators] == ["intercultural_cities_index"], indicators
    per_mille = await all_indicators(api, unit="per_mille")
    assert [i["code"] for i in per_mille] == ["net_migration_rate"], per_mille


async def test_theme_and_unit_filters_combine(api: Api) -> None:
    indicators = await all_indicators(api, theme="housing", unit="count")
    assert [i["code"] for i in indicators] == ["reception_places"], indicators


@pytest.mark.parametrize(("name", "value"), [("theme", "sport"), ("unit", "kilograms")])
async def test_unknown_filter_value_is_422_naming_it(api: Api, name: str, value: str) -> None:
    problem = assert_problem(await api.get("/v1/indicators", params={name: value}), 422)
    assert name in error_fields(problem), problem


async def test_pages_of_the_catalogue_follow_the_cursor(api: Api) -> None:
    codes: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/indicators", params=params)).json()
        codes.extend(indicator["code"] for indicator in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(codes) == 42 and codes == sorted(set(codes)), codes


async def test_derived_indicator_lists_the_inputs_its_formula_reads(api: Api) -> None:
    response = await api.get("/v1/indicators/foreign_nationals_share")
    assert response.status_code == 200, response.text
    indicator = response.json()
    assert indicator["formula"] == "foreign_nationals / population * 100", indicator
    assert indicator["inputs"] == ["foreign_nationals", "population"], indicator
    assert response.headers["ETag"] == f'"{indicator["version"]}"', response.headers


async def test_indicator_names_follow_accept_language(api: Api) -> None:
    response = await api.get("/v1/indicators/foreign_born", headers={"Accept-Language": "fr"})
    indicator = response.json()
    assert (indicator["name"], indicator["language"]) == ("Résidents nés à l'étranger", "fr")
    fallback = (
        await api.get("/v1/indicators/foreign_born", headers={"Accept-Language": "de"})
    ).json()
    assert (fallback["name"], fallback["language"]) == ("Residents born abroad", "en"), fallback


async def test_unknown_indicator_is_404_problem(api: Api) -> None:
    assert_problem(await api.get("/v1/indicators/no_such_indicator"), 404)


# Creating


async def test_admin_adds_an_indicator(api: Api) -> None:
    response = await create(api)
    assert response.status_code == 201, response.text
    indicator = response.json()
    assert indicator["code"] == "language_classes_places", indicator
    assert indicator["dimensions"] == ["district"] and indicator["inputs"] == [], indicator
    assert response.headers["Location"] == "/v1/indicators/language_classes_places"
    assert response.headers["ETag"] == '"1"', response.headers
    assert (await api.get("/v1/indicators/language_classes_places")).status_code == 200


async def test_anonymous_caller_cannot_add_an_indicator(api: Api) -> None:
    response = await api.post("/v1/indicators", json=new_indicator())
    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers


@pytest.mark.parametrize(("role", "cities"), [(Api.VIEWER, ()), (Api.EDITOR, ("PTLIS",))])
async def test_only_admins_add_indicators(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    response = await api.post("/v1/indicators", role=role, cities=cities, json=new_indicator())
    assert_problem(response, 403)
    assert_problem(await api.get("/v1/indicators/language_classes_places"), 404)


async def test_adding_an_existing_code_is_409(api: Api) -> None:
    problem = assert_problem(await create(api, code="foreign_nationals"), 409)
    assert "foreign_nationals" in problem["detail"], problem


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("code", {"code": "Places"}),
        ("names", {"names": {"fr": "Places"}}),
        ("theme", {"theme": "sport"}),
        ("unit", {"unit": "kilograms"}),
        ("aggregation", {"aggregation": "median"}),
        ("dimensions", {"dimensions": ["sex", "sex"]}),
        ("colour", {"colour": "blue"}),
    ],
)
async def test_invalid_indicator_is_422_naming_the_field(
    api: Api, field: str, changes: dict[str, Any]
) -> None:
    problem = assert_problem(await create(api, **changes), 422)
    assert field in error_fields(problem), problem


# Formulas


async def test_formula_over_known_indicators_is_accepted(api: Api) -> None:
    response = await create(
        api,
        code="foreign_born_per_national",
        unit="index",
        formula="foreign_born / (foreign_nationals + 1)",
    )
    assert response.status_code == 201, response.text
    assert response.json()["inputs"] == ["foreign_born", "foreign_nationals"], response.json()


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('true')",
        "foreign_nationals.__class__",
        "population ** 2",
        "population if population else 1",
        "[population][0]",
        "abs(population)",
        "lambda: population",
        "population /",
        "'population'",
        "100",
    ],
)
async def test_unsafe_or_malformed_formula_is_422_naming_formula(api: Api, formula: str) -> None:
    problem = assert_problem(await create(api, code="derived_one", formula=formula), 422)
    assert error_fields(problem) == {"formula"}, problem
    assert_problem(await api.get("/v1/indicators/derived_one"), 404)


async def test_formula_reading_unknown_indicators_is_422_naming_them(api: Api) -> None:
    response = await create(api, code="derived_one", formula="ghosts / population * 100")
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"formula"}, problem
    assert "ghosts" in problem["detail"] and "population" not in problem["detail"], problem


async def test_formula_reading_its_own_indicator_is_422(api: Api) -> None:
    response = await create(api, code="derived_one", formula="derived_one + population")
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"formula"}, problem


async def test_changing_a_formula_to_read_itself_is_422(api: Api) -> None:
    etag = await indicator_etag(api, "foreign_born_share")
    response = await api.patch(
        "/v1/indicators/foreign_born_share",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"formula": "foreign_born_share * 2"},
    )
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"formula"}, problem


async def test_formulas_cannot_form_a_cycle_through_other_indicators(api: Api) -> None:
    first = await create(api, code="derived_one", formula="population * 2")
    assert first.status_code == 201, first.text
    second = await create(api, code="derived_two", formula="derived_one / 2")
    assert second.status_code == 201, second.text
    response = await api.patch(
        "/v1/indicators/derived_one",
        role=Api.ADMIN,
        headers={"If-Match": first.headers["ETag"]},
        json={"formula": "derived_two + 1"},
    )
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"formula"}, problem
    assert "derived_two" in problem["detail"], problem
    formula = (await api.get("/v1/indicators/derived_one")).json()["formula"]
    assert formula == "population * 2", formula


async def test_formula_can_be_removed_with_null(api: Api) -> None:
    created = await create(api, code="derived_one", formula="population * 2")
    assert created.status_code == 201, created.text
    response = await api.patch(
        "/v1/indicators/derived_one",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={"formula": None},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["formula"], response.json()["inputs"]) == (None, []), response.json()


# Changing


async def test_change_without_if_match_is_428(api: Api) -> None:
    response = await api.patch(
        "/v1/indicators/population", role=Api.ADMIN, json={"aggregation": "none"}
    )
    assert_problem(response, 428)


async def test_change_with_stale_etag_is_412(api: Api) -> None:
    etag = await indicator_etag(api, "population")
    first = await api.patch(
        "/v1/indicators/population",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"descriptions": {"en": "All residents"}},
    )
    assert first.status_code == 200, first.text
    second = await api.patch(
        "/v1/indicators/population",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"aggregation": "none"},
    )
    assert_problem(second, 412)
    assert (await api.get("/v1/indicators/population")).json()["aggregation"] == "sum"


async def test_change_with_current_etag_applies_and_returns_a_new_etag(api: Api) -> None:
    etag = await indicator_etag(api, "population")
    response = await api.patch(
        "/v1/indicators/population",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"names": {"en": "Resident population", "fr": "Population résidente"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Resident population", response.json()
    assert response.headers["ETag"] not in (etag, None), (etag, response.headers)
    assert await indicator_etag(api, "population") == response.headers["ETag"]


@pytest.mark.parametrize(("role", "cities"), [(Api.VIEWER, ()), (Api.EDITOR, ("ESMAD",))])
async def test_only_admins_change_indicators(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    etag = await indicator_etag(api, "population")
    response = await api.patch(
        "/v1/indicators/population",
        role=role,
        cities=cities,
        headers={"If-Match": etag},
        json={"unit": "count"},
    )
    assert_problem(response, 403)


@pytest.mark.parametrize("field", ["names", "theme", "unit", "dimensions", "aggregation"])
async def test_explicit_null_on_a_required_field_is_422(api: Api, field: str) -> None:
    etag = await indicator_etag(api, "population")
    response = await api.patch(
        "/v1/indicators/population", role=Api.ADMIN, headers={"If-Match": etag}, json={field: None}
    )
    problem = assert_problem(response, 422)
    assert field in error_fields(problem), problem


# Removing


async def test_indicator_with_observations_cannot_be_removed(api: Api) -> None:
    problem = assert_problem(await api.delete("/v1/indicators/immigrants", role=Api.ADMIN), 409)
    assert "observations" in problem["detail"], problem
    assert (await api.get("/v1/indicators/immigrants")).status_code == 200


async def test_indicator_gains_observations_then_cannot_be_removed(api: Api) -> None:
    assert (await create(api)).status_code == 201
    written = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={"observations": [observation(indicator="language_classes_places", value=120)]},
    )
    assert written.status_code == 200, written.text
    assert_problem(await api.delete("/v1/indicators/language_classes_places", role=Api.ADMIN), 409)


async def test_indicator_read_by_a_formula_cannot_be_removed(api: Api) -> None:
    assert (await create(api, code="base_figure")).status_code == 201
    assert (await create(api, code="derived_one", formula="base_figure * 2")).status_code == 201
    problem = assert_problem(await api.delete("/v1/indicators/base_figure", role=Api.ADMIN), 409)
    assert problem.get("derived") == ["derived_one"], problem
    assert (await api.get("/v1/indicators/base_figure")).status_code == 200


async def test_unused_indicator_is_removed(api: Api) -> None:
    created = await create(api)
    assert created.status_code == 201, created.text
    response = await api.delete(
        "/v1/indicators/language_classes_places",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 204, response.text
    assert_problem(await api.get("/v1/indicators/language_classes_places"), 404)


async def test_removal_with_stale_etag_is_412(api: Api) -> None:
    assert (await create(api)).status_code == 201
    response = await api.delete(
        "/v1/indicators/language_classes_places", role=Api.ADMIN, headers={"If-Match": '"7"'}
    )
    assert_problem(response, 412)


@pytest.mark.parametrize(("role", "cities"), [(Api.VIEWER, ()), (Api.EDITOR, ("PTLIS",))])
async def test_only_admins_remove_indicators(api: Api, role: Any, cities: tuple[str, ...]) -> None:
    assert (await create(api)).status_code == 201
    response = await api.delete("/v1/indicators/language_classes_places", role=role, cities=cities)
    assert_problem(response, 403)
    assert_problem(await api.delete("/v1/indicators/language_classes_places"), 401)


async def test_dimension_used_by_observations_cannot_be_dropped(api: Api) -> None:
    # Lisbon's foreign nationals are broken down by sex in the demo figures.
    etag = await indicator_etag(api, "foreign_nationals")
    response = await api.patch(
        "/v1/indicators/foreign_nationals",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"dimensions": ["age_group", "citizenship"]},
    )
    problem = assert_problem(response, 409)
    assert problem.get("dimensions") == ["sex"], problem
    dimensions = (await api.get("/v1/indicators/foreign_nationals")).json()["dimensions"]
    assert "sex" in dimensions, dimensions


async def test_unused_dimension_can_be_dropped(api: Api) -> None:
    etag = await indicator_etag(api, "foreign_nationals")
    response = await api.patch(
        "/v1/indicators/foreign_nationals",
        role=Api.ADMIN,
        headers={"If-Match": etag},
        json={"dimensions": ["sex", "citizenship", "district"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["dimensions"] == ["sex", "citizenship", "district"], response.json()


# Concurrent writers


async def test_second_writer_with_the_same_etag_gets_412_not_a_lost_update(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    async with own_database.sessionmaker() as setup, setup.begin():
        await service.create_indicator(
            setup, admin, IndicatorCreate.model_validate(new_indicator())
        )

    def change(aggregation: str) -> IndicatorUpdate:
        return IndicatorUpdate.model_validate({"aggregation": aggregation})

    code = new_indicator()["code"]
    async with own_database.sessionmaker() as first, own_database.sessionmaker() as second:
        await service.update_indicator(first, admin, code, change("none"), if_match='"1"')
        racing = asyncio.create_task(
            service.update_indicator(second, admin, code, change("mean"), if_match='"1"')
        )
        await wait_until_blocked_by(own_database, first, task=racing)
        assert not racing.done(), "the second writer must wait for the first one's commit"
        await first.commit()
        with pytest.raises(PreconditionFailed):
            await racing
    async with own_database.sessionmaker() as check:
        indicator = await service.get_indicator(check, code)
        assert (indicator.aggregation, indicator.version) == ("none", 2), indicator.aggregation


@pytest.mark.parametrize(("field", "value"), [("unit", "percent"), ("value_type", "decimal")])
async def test_unit_of_an_indicator_with_observations_cannot_change(
    api: Api, field: str, value: str
) -> None:
    current = await api.get("/v1/indicators/foreign_nationals")

    response = await api.patch(
        "/v1/indicators/foreign_nationals",
        role=Api.ADMIN,
        headers={"If-Match": current.headers["etag"]},
        json={field: value},
    )

    assert response.status_code == 409, response.text
    assert response.json()["fields"] == [field], response.json()


async def test_unit_of_an_unused_indicator_can_change(api: Api) -> None:
    current = await api.get("/v1/indicators/reception_places")

    response = await api.patch(
        "/v1/indicators/reception_places",
        role=Api.ADMIN,
        headers={"If-Match": current.headers["etag"]},
        json={"unit": "persons"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["unit"] == "persons"


async def test_unit_change_waits_for_a_batch_writing_the_first_observations_then_is_refused(
    own_database: Database,
) -> None:
    admin = Principal(subject="admin@test", role=Role.admin)
    code = "first_figures_race"
    async with own_database.sessionmaker() as setup, setup.begin():
        await create_city(setup, admin, CityCreate.model_validate(demo_city("GRATH")))
        await service.create_indicator(
            setup, admin, IndicatorCreate.model_validate(new_indicator(code=code))
        )
    batch = ObservationBatchIn.model_validate(
        {"observations": [observation(city="GRATH", indicator=code, value=12)]}
    )
    change = IndicatorUpdate.model_validate({"unit": "persons"})

    async with own_database.sessionmaker() as writer, own_database.sessionmaker() as admin_edit:
        await write_batch(writer, admin, batch)
        racing = asyncio.create_task(
            service.update_indicator(admin_edit, admin, code, change, if_match='"1"')
        )
        await wait_until_blocked_by(own_database, writer, task=racing)
        assert not racing.done(), "the unit changed under a batch still writing its figures"
        await writer.commit()
        with pytest.raises(Conflict):
            await racing
