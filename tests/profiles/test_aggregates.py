"""Reading aggregates, derived values and the coverage matrix: filters, pages, problems.

The worker's computation runs here through the same functions the jobs call, inside the
test's transaction, on figures imported through the API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import recompute_coverage, recompute_indicator
from shared.auth import Role
from tests.factories import Api, assert_problem, csv_file, error_fields

PERIOD = "2023"
SOURCE = (
    "Population register (API test),National statistics office,"
    "https://stats.example.org/api-test,register"
)
FIGURES = [
    ("GRATH", "population", "", 664046),
    ("GRATH", "foreign_nationals", "", 87012),
    ("GRATH", "foreign_nationals", "sex=F", 41250),
    ("GRATH", "population", "sex=F", 350210),
    ("ITNAP", "population", "", 913462),
    ("ITNAP", "foreign_nationals", "", 61034),
    ("TNSFA", "population", "", 330440),
    ("TNSFA", "foreign_nationals", "", 2105),
]
CITIES = {
    "GRATH": ("Athens", "GR", "europe", "Europe/Athens"),
    "ITNAP": ("Naples", "IT", "europe", "Europe/Rome"),
    "TNSFA": ("Sfax", "TN", "south_mediterranean", "Africa/Tunis"),
}
COMPUTED = ("population", "foreign_nationals", "foreign_nationals_share")


@pytest.fixture
async def computed(api: Api, session: AsyncSession) -> None:
    """This module's cities and figures, with their aggregates, derived values and coverage."""
    for code, (name, country, region, timezone) in CITIES.items():
        response = await api.post(
            "/v1/cities",
            role=Role.admin,
            json={
                "code": code,
                "names": {"en": name},
                "country": country,
                "region": region,
                "timezone": timezone,
                "membership": {"status": "expected"},
            },
        )
        assert response.status_code == 201, response.text
    rows = [
        f"{city},{indicator},{PERIOD},municipality,{breakdown},{value},,,A,{SOURCE},"
        for city, indicator, breakdown, value in FIGURES
    ]
    response = await api.post(
        "/v1/imports",
        content=csv_file(*rows),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )
    assert response.status_code == 200, response.text
    catalogue = await Catalogue.load(session)
    for code in catalogue.in_order(COMPUTED):
        definition = catalogue.get(code)
        assert definition is not None
        await recompute_indicator(session, definition)
    await recompute_coverage(session, today=date(2026, 12, 1))


async def items(api: Api, url: str, **params: str) -> list[dict[str, Any]]:
    response = await api.get(url, params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def keys(aggregates: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {(a["disaggregation"], a["group"], a["region"]) for a in aggregates}


# --- aggregates -------------------------------------------------------------------------------


@pytest.mark.usefixtures("computed")
async def test_aggregates_are_public_and_filtered_by_period_group_region_and_breakdown(
    api: Api,
) -> None:
    every = await items(api, "/v1/aggregates", indicator="foreign_nationals", period=PERIOD)
    assert keys(every) == {
        ("", "network", None),
        ("", "region", "europe"),
        ("", "region", "south_mediterranean"),
        ("sex=F", "network", None),
        ("sex=F", "region", "europe"),
    }, keys(every)
    network = await items(
        api,
        "/v1/aggregates",
        indicator="foreign_nationals",
        period=PERIOD,
        group="network",
        disaggregation="",
    )
    [total] = network
    assert total["value"] == 87012 + 61034 + 2105
    assert total["cities"] == ["GRATH", "ITNAP", "TNSFA"] and total["city_count"] == 3
    assert (total["unit"], total["rule"], total["scope"]) == ("persons", "sum", "municipality")
    assert total["period_start"] == "2023-01-01" and total["period_end"] == "2023-12-31"

    [europe] = await items(
        api,
        "/v1/aggregates",
        indicator="foreign_nationals",
        period=PERIOD,
        region="europe",
        disaggregation="",
    )
    assert (europe["group"], europe["value"]) == ("region", 87012 + 61034), europe
    regions = await items(
        api, "/v1/aggregates", indicator="foreign_nationals", period=PERIOD, group="region"
    )
    assert {a["group"] for a in regions} == {"region"}
    female = await items(
        api,
        "/v1/aggregates",
        indicator="foreign_nationals",
        period=PERIOD,
        disaggregation="sex=F",
    )
    assert {a["value"] for a in female} == {41250}
    assert female[0]["dimensions"] == {"sex": "F"}
    assert await items(api, "/v1/aggregates", indicator="foreign_nationals", scope="metro") == []


@pytest.mark.usefixtures("computed")
async def test_a_weighted_mean_says_its_weight_and_the_cities_whose_value_is_derived(
    api: Api,
) -> None:
    [network] = await items(
        api,
        "/v1/aggregates",
        indicator="foreign_nationals_share",
        period=PERIOD,
        group="network",
        disaggregation="",
    )
    population = 664046 + 913462 + 330440
    assert network["value"] == pytest.approx((87012 + 61034 + 2105) * 100 / population)
    assert network["weight_total"] == population
    assert network["derived_cities"] == ["GRATH", "ITNAP", "TNSFA"]
    assert network["unit"] == "percent" and network["rule"] == "weighted_mean"


@pytest.mark.usefixtures("computed")
async def test_aggregates_come_in_pages_with_a_cursor(api: Api) -> None:
    expected = await items(api, "/v1/aggregates", indicator="foreign_nationals,population")
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"indicator": "foreign_nationals,population", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/v1/aggregates", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert len(seen) > 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"indicator": "no_such_indicator"}, "indicator"),
        ({"indicator": "foreign_nationals,nope"}, "indicator"),
        ({"group": "network", "region": "europe"}, "region"),
        ({"region": "atlantis"}, "region"),
        ({"group": "planet"}, "group"),
        ({"disaggregation": "sex"}, "disaggregation"),
        ({"disaggregation": "sex="}, "disaggregation"),
        ({"period": "2023-13-45"}, "period"),
        ({"scope": "planet"}, "scope"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_aggregate_filters_are_422_problems_naming_the_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    problem = assert_problem(await api.get("/v1/aggregates", params=params), 422)
    assert field in error_fields(problem), problem


@pytest.mark.usefixtures("computed")
async def test_a_breakdown_may_be_given_in_any_order(api: Api) -> None:
    ordered = await items(api, "/v1/aggregates", disaggregation="age_group=15-64;sex=F")
    shuffled = await items(api, "/v1/aggregates", disaggregation="sex=F; age_group=15-64")
    assert ordered == shuffled


async def test_a_token_sent_to_a_public_read_is_checked(api: Api) -> None:
    response = await api.get("/v1/aggregates", headers={"Authorization": "Bearer forged"})
    assert_problem(response, 401)
    assert (await api.get("/v1/aggregates", role=Role.viewer)).status_code == 200


# --- derived values ---------------------------------------------------------------------------


@pytest.mark.usefixtures("computed")
async def test_derived_values_show_the_formula_and_the_inputs_read(api: Api) -> None:
    values = await items(
        api, "/v1/derived-values", indicator="foreign_nationals_share", city="GRATH,TNSFA"
    )
    by_key = {(v["city"], v["disaggregation"]): v for v in values if v["period"] == PERIOD}
    assert set(by_key) == {("GRATH", ""), ("GRATH", "sex=F"), ("TNSFA", "")}, set(by_key)
    athens = by_key[("GRATH", "")]
    assert athens["value"] == pytest.approx(87012 / 664046 * 100)
    assert athens["formula"] == "foreign_nationals / population * 100"
    assert athens["unit"] == "percent"
    inputs = {i["indicator"]: i for i in athens["inputs"]}
    assert (inputs["foreign_nationals"]["value"], inputs["population"]["value"]) == (
        87012,
        664046,
    )
    observation = await api.get(f"/v1/observations/{inputs['population']['observation_id']}")
    assert observation.json()["value"] == 664046
    assert inputs["population"]["obs_status"] == "A"

    [female] = await items(
        api,
        "/v1/derived-values",
        indicator="foreign_nationals_share",
        city="GRATH",
        period=PERIOD,
        disaggregation="sex=F",
    )
    assert female["value"] == pytest.approx(41250 / 350210 * 100)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"indicator": "population"}, "indicator"),
        ({"indicator": "no_such_indicator"}, "indicator"),
        ({"city": "XXABC"}, "city"),
        ({"city": "lisbon"}, "city"),
    ],
)
async def test_bad_derived_value_filters_are_422_problems_naming_the_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    problem = assert_problem(await api.get("/v1/derived-values", params=params), 422)
    assert field in error_fields(problem), problem


# --- coverage ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("computed")
async def test_the_coverage_matrix_has_a_cell_per_city_and_theme(api: Api) -> None:
    cells = await items(api, "/v1/coverage", city="GRATH,TNSFA")
    assert len(cells) == 2 * 9
    assert [(c["city"], c["theme"]) for c in cells] == sorted(
        (c["city"], c["theme"]) for c in cells
    )
    athens = {c["theme"]: c for c in cells if c["city"] == "GRATH"}
    demography = athens["demography"]
    assert (demography["with_data"], demography["recent"]) == (2, 2), demography
    assert demography["recent_since"] == "2021-12-01"
    assert demography["latest_period_end"] == "2023-12-31"
    assert athens["health"]["with_data"] == 0
    themes = await items(api, "/v1/coverage", theme="demography", city="GRATH")
    assert [c["theme"] for c in themes] == ["demography"]
    page = await api.get("/v1/coverage", params={"limit": "5"})
    assert len(page.json()["items"]) == 5 and page.json()["next_cursor"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"city": "XXABC"}, "city"), ({"theme": "astrology"}, "theme")],
)
async def test_bad_coverage_filters_are_422_problems_naming_the_parameter(
    api: Api, params: dict[str, str], field: str
) -> None:
    problem = assert_problem(await api.get("/v1/coverage", params=params), 422)
    assert field in error_fields(problem), problem


async def test_recomputation_has_its_own_statement_limit_and_restores_the_planner(
    session: AsyncSession,
) -> None:
    # A large indicator outlasts a request's statement limit; its recomputation sets its
    # own, and leaves the planner and memory settings of the transaction as they were.
    before = {
        name: await session.scalar(text(f"SHOW {name}")) for name in ("enable_nestloop", "work_mem")
    }
    definition = (await Catalogue.load(session)).get("foreign_nationals")
    assert definition is not None
    await recompute_indicator(session, definition, timeout_seconds=600)
    assert await session.scalar(text("SHOW statement_timeout")) == "10min"
    after = {name: await session.scalar(text(f"SHOW {name}")) for name in before}
    assert after == before
