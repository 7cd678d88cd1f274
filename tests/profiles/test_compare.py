"""Comparing cities: values side by side, and a warning for every reason they may not compare."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, assert_problem, error_fields, observation

MIXED_MEASURES = {"indicator": "foreign_born,immigrants,foreign_nationals"}


async def compare(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/compare", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def warnings(body: dict[str, Any]) -> dict[str, list[str]]:
    """The warnings of a comparison: kind -> cities it is about."""
    found: dict[str, list[str]] = {}
    for warning in body["warnings"]:
        assert warning["kind"] not in found, f"{warning['kind']} warned twice: {body['warnings']}"
        found[warning["kind"]] = warning["cities"]
    return found


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {value["city"]: value for value in body["values"]}


async def write_observations(api: Api, *observations: dict[str, Any]) -> None:
    response = await api.post(
        "/v1/observations", role=Api.ADMIN, json={"observations": list(observations)}
    )
    assert response.status_code == 200, response.text


# Values side by side


async def test_values_come_side_by_side_in_the_order_asked(api: Api) -> None:
    body = await compare(api, cities="ITTRN,ESMAD,FRLYS", **MIXED_MEASURES)
    assert [v["city"] for v in body["values"]] == ["ITTRN", "ESMAD", "FRLYS"], body["values"]
    values = by_city(body)
    assert (values["ESMAD"]["indicator"], values["ESMAD"]["value"]) == ("foreign_born", 657432)
    assert (values["FRLYS"]["indicator"], values["FRLYS"]["value"]) == ("immigrants", 180445)
    assert (values["ITTRN"]["indicator"], values["ITTRN"]["value"]) == (
        "foreign_nationals",
        135753,
    )
    assert values["ITTRN"]["source"]["publisher"] == "Comune di Torino", values["ITTRN"]
    assert body["indicators"] == ["foreign_born", "immigrants", "foreign_nationals"], body


async def test_each_city_gets_the_first_listed_indicator_it_has(api: Api) -> None:
    body = await compare(api, indicator="foreign_nationals,foreign_born", cities="ESMAD")
    assert by_city(body)["ESMAD"]["indicator"] == "foreign_nationals", body["values"]


async def test_repeated_parameters_work_like_comma_lists(api: Api) -> None:
    response = await api.get(
        "/v1/compare",
        params=[("indicator", "foreign_nationals"), ("cities", "ESMAD"), ("cities", "ITTRN")],
    )
    assert response.status_code == 200, response.text
    assert [v["city"] for v in response.json()["values"]] == ["ESMAD", "ITTRN"], response.text


async def test_city_names_follow_accept_language(api: Api) -> None:
    response = await api.get(
        "/v1/compare",
        params={"indicator": "foreign_nationals", "cities": "PTLIS"},
        headers={"Accept-Language": "fr"},
    )
    assert response.json()["values"][0]["city_name"] == "Lisbonne", response.json()


# Warnings


async def test_madrid_lyon_turin_differ_in_population_concept(api: Api) -> None:
    body = await compare(api, cities="ESMAD,FRLYS,ITTRN", **MIXED_MEASURES)
    found = warnings(body)
    assert found.get("population_concept") == ["ESMAD", "FRLYS", "ITTRN"], body["warnings"]
    concepts = {v["city"]: v["population_concept"] for v in body["values"]}
    assert concepts == {
        "ESMAD": "birthplace",
        "FRLYS": "birthplace_and_citizenship",
        "ITTRN": "citizenship",
    }, concepts


async def test_lyon_metro_against_municipalities_warns_about_scope(api: Api) -> None:
    body = await compare(api, cities="ESMAD,FRLYS,ITTRN", **MIXED_MEASURES)
    found = warnings(body)
    assert "scope" in found and "FRLYS" in found["scope"], body["warnings"]
    [scope] = [w for w in body["warnings"] if w["kind"] == "scope"]
    assert "metro" in scope["detail"] and "municipality" in scope["detail"], scope
    assert scope["values"]["metro"] == ["FRLYS"], scope
    assert set(scope["values"]["municipality"]) == {"ESMAD", "ITTRN"}, scope


async def test_different_periods_warn_about_period(api: Api) -> None:
    body = await compare(api, cities="ESMAD,FRLYS,ITTRN", **MIXED_MEASURES)
    [period] = [w for w in body["warnings"] if w["kind"] == "period"]
    for text in ("2012", "2017-07-01", "2022"):
        assert text in period["detail"], period


async def test_same_measure_in_different_years_warns_only_about_period(api: Api) -> None:
    body = await compare(api, indicator="foreign_nationals", cities="ESMAD,ITTRN")
    assert warnings(body) == {"period": ["ESMAD", "ITTRN"]}, body["warnings"]


async def test_tangier_ngo_estimate_is_flagged(api: Api) -> None:
    body = await compare(
        api, indicator="subsaharan_migrants_estimate,refugees_estimate", cities="MATNG,LBBEY"
    )
    values = by_city(body)
    assert (values["MATNG"]["obs_status"], values["MATNG"]["estimate"]) == ("E", True), values
    assert (values["LBBEY"]["indicator"], values["LBBEY"]["estimate"]) == (
        "refugees_estimate",
        True,
    ), values
    assert warnings(body)["estimate"] == ["LBBEY", "MATNG"], body["warnings"]


async def test_beirut_refugee_estimate_against_tangier_count_names_only_beirut(api: Api) -> None:
    body = await compare(
        api, indicator="refugees_estimate,refugees_asylum_seekers", cities="LBBEY,MATNG"
    )
    found = warnings(body)
    assert found["estimate"] == ["LBBEY"], body["warnings"]
    assert by_city(body)["MATNG"]["estimate"] is False, body["values"]
    assert "scope" in found and "period" not in found, body["warnings"]


async def test_value_given_as_a_range_counts_as_an_estimate(api: Api) -> None:
    await write_observations(
        api,
        observation(value=140000, value_low=130000, value_high=150000),
        observation(city="ESMAD", value=560000),
    )
    body = await compare(api, indicator="foreign_nationals", cities="ITTRN,ESMAD", period="2023")
    assert warnings(body) == {"estimate": ["ITTRN"]}, body["warnings"]
    assert by_city(body)["ITTRN"]["value_low"] == 130000, body["values"]


async def test_city_without_a_value_is_missing(api: Api) -> None:
    body = await compare(api, indicator="foreign_nationals", cities="ESMAD,TNTUN,ATVIE")
    assert warnings(body)["missing"] == ["ATVIE", "TNTUN"], body["warnings"]
    tunis = by_city(body)["TNTUN"]
    assert (tunis["value"], tunis["indicator"], tunis["source"]) == (None, None, None), tunis
    assert tunis["city_name"] == "Tunis", tunis


async def test_different_units_are_flagged(api: Api) -> None:
    body = await compare(
        api, indicator="foreign_born_share,foreign_nationals", cities="ESMAD,ITTRN"
    )
    assert warnings(body).get("unit") == ["ESMAD", "ITTRN"], body["warnings"]


async def test_truly_comparable_values_have_no_warning(api: Api) -> None:
    madrid_source = {"title": "Padrón municipal 2023", "url": "https://www.madrid.es/padron"}
    await write_observations(
        api,
        observation(city="ITTRN", value=140000),
        observation(city="ESMAD", value=598000, source=madrid_source),
    )
    body = await compare(api, indicator="foreign_nationals", cities="ESMAD,ITTRN", period="2023")
    assert body["warnings"] == [], body["warnings"]
    values = by_city(body)
    assert (values["ESMAD"]["value"], values["ITTRN"]["value"]) == (598000, 140000), values
    assert {v["period"] for v in body["values"]} == {"2023"}, body["values"]


async def test_period_limits_the_values_compared(api: Api) -> None:
    body = await compare(api, indicator="foreign_nationals", cities="ESMAD,ITTRN", period="2017")
    values = by_city(body)
    assert values["ESMAD"]["value"] == 405233, values
    assert values["ITTRN"]["value"] is None, values
    assert warnings(body) == {"missing": ["ITTRN"]}, body["warnings"]
    assert body["period"] == "2017", body


# Bad requests


async def test_unknown_city_is_422_naming_cities(api: Api) -> None:
    response = await api.get("/v1/compare", params={"indicator": "population", "cities": "XXABC"})
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"cities"}, problem
    assert "XXABC" in problem["detail"], problem


async def test_unknown_indicator_is_422_naming_indicator(api: Api) -> None:
    response = await api.get(
        "/v1/compare", params={"indicator": "population,happiness", "cities": "ESMAD"}
    )
    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"indicator"}, problem
    assert "happiness" in problem["detail"], problem


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"indicator": "population"}, "cities"),
        ({"cities": "ESMAD"}, "indicator"),
        ({"indicator": "population", "cities": ","}, "cities"),
        ({"indicator": "population", "cities": "ESMAD", "period": "last year"}, "period"),
        ({"indicator": "population", "cities": "ESMAD", "period": "2017-13"}, "period"),
    ],
)
async def test_malformed_request_is_422_naming_the_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    problem = assert_problem(await api.get("/v1/compare", params=params), 422)
    assert field in error_fields(problem), problem


async def test_too_many_cities_is_422(api: Api) -> None:
    cities = ",".join(f"ZZ{chr(65 + i // 26)}{chr(65 + i % 26)}A" for i in range(51))
    response = await api.get("/v1/compare", params={"indicator": "population", "cities": cities})
    assert "cities" in error_fields(assert_problem(response, 422))
