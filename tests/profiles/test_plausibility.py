"""Plausible values by unit: a figure no city could publish (a count of 1e308, a share of
101 %) is refused with a 422 naming its row and field, by the JSON batch and the CSV import
alike, before it can reach the network's aggregates and overflow them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.plausibility import BOUNDS
from shared.auth import Role
from tests.factories import CSV_HEADER, Api, assert_problem, csv_file, observation

CITY = "ITTRN"
PERIOD = "2031"  # no demo figure has it: every row of that period is this file's
#: Units the demo catalogue has no indicator in: one is made for the test.
MADE = {
    "plausibility_currency": {"unit": "currency", "value_type": "decimal"},
    "plausibility_index": {"unit": "index", "value_type": "decimal"},
    # A count the catalogue leaves as decimal: still whole units.
    "plausibility_persons": {"unit": "persons", "value_type": "decimal"},
}


async def make_indicators(api: Api) -> None:
    for code, definition in MADE.items():
        response = await api.post(
            "/v1/indicators",
            role=Role.admin,
            json={
                "code": code,
                "names": {"en": code.replace("_", " ")},
                "theme": "demography",
                "aggregation": "sum",
                **definition,
            },
        )
        assert response.status_code == 201, response.text


def figure(indicator: str, **values: Any) -> dict[str, Any]:
    return observation(city=CITY, indicator=indicator, period=PERIOD, **values)


async def post_batch(api: Api, *observations: dict[str, Any]) -> Any:
    return await api.post(
        "/v1/observations", role=Role.admin, json={"observations": list(observations)}
    )


async def rows_of_period(session: AsyncSession) -> list[tuple[str, float | None]]:
    rows = await session.execute(
        text(
            "SELECT indicator_code, value FROM profiles.observation "
            "WHERE period = :period ORDER BY indicator_code, value"
        ),
        {"period": PERIOD},
    )
    return [(row[0], row[1]) for row in rows]


def errors_of(problem: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["detail"]) for error in problem["errors"]]


async def test_a_count_of_1e308_is_refused_naming_the_observation_and_its_field(
    api: Api, session: AsyncSession
) -> None:
    response = await post_batch(
        api,
        figure("foreign_nationals", value=140000),
        figure("population", value=1e308),
        figure("reception_places", value=900),
    )

    problem = assert_problem(response, 422)
    [(field, detail)] = errors_of(problem)
    assert field == "observations.1.value", problem
    assert problem["errors"][0]["row"] == 1, problem
    assert "1e+308" in detail and "0 to 10,000,000,000" in detail, detail
    assert "persons" in detail, detail
    assert await rows_of_period(session) == [], "a refused batch wrote figures"


#: (indicator, the furthest value its unit allows on one side, a value just beyond it).
EDGES = [
    pytest.param("foreign_nationals", 10**10, 10**10 + 1, id="persons above ten billion"),
    pytest.param("reception_places", 10**10, 1e11, id="count above ten billion"),
    pytest.param("foreign_nationals_share", 100, 100.5, id="percent above 100"),
    pytest.param("foreign_nationals_share", 0, -0.1, id="percent below 0"),
    pytest.param("net_migration_rate", -(10**15), -2e15, id="per mille below -10^15"),
    pytest.param("intercultural_cities_index", 10**15, 1e16, id="score above 10^15"),
    pytest.param("plausibility_currency", 10**15, 1e308, id="currency of 1e308"),
    pytest.param("plausibility_index", -(10**15), -1e20, id="index below -10^15"),
]


@pytest.mark.parametrize("field", ["value", "value_low", "value_high"])
@pytest.mark.parametrize(("indicator", "edge", "beyond"), EDGES)
async def test_each_bound_of_each_unit_holds_for_the_value_and_its_range(
    api: Api, session: AsyncSession, indicator: str, edge: float, beyond: float, field: str
) -> None:
    await make_indicators(api)
    # The value itself sits on the edge; the field tested is on it, then past it.
    at_edge = await post_batch(api, figure(indicator, **{"value": edge, field: edge}))
    assert at_edge.status_code == 200, f"{field}={edge} of {indicator}: {at_edge.text}"

    past = await post_batch(api, figure(indicator, **{"value": edge, field: beyond}))

    problem = assert_problem(past, 422)
    [(named, detail)] = errors_of(problem)
    assert named == f"observations.0.{field}", problem
    assert f"{beyond:.15g}" in detail and "plausible range" in detail, detail
    assert await rows_of_period(session) == [(indicator, edge)], "the refused value was written"


async def test_persons_are_whole_numbers_even_in_an_indicator_declared_decimal(
    api: Api, session: AsyncSession
) -> None:
    await make_indicators(api)

    response = await post_batch(api, figure("plausibility_persons", value=12.5))

    problem = assert_problem(response, 422)
    [(field, detail)] = errors_of(problem)
    assert field == "observations.0.value" and "whole" in detail, problem
    assert await rows_of_period(session) == []


def csv_row(indicator: str, **cells: Any) -> str:
    values: dict[str, Any] = {
        "city": CITY,
        "indicator": indicator,
        "period": PERIOD,
        "scope": "municipality",
        "dimension": "",
        "value": "",
        "value_low": "",
        "value_high": "",
        "obs_status": "A",
        "source_title": "Plausibility test register",
        "source_publisher": "",
        "source_url": "",
        "source_kind": "register",
        "note": "",
        **cells,
    }
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow([values[name] for name in CSV_HEADER.split(",")])
    return line.getvalue()


async def test_an_import_names_each_implausible_row_and_column_and_writes_nothing(
    api: Api, session: AsyncSession
) -> None:
    response = await api.post(
        "/v1/imports",
        role=Role.admin,
        headers={"Content-Type": "text/csv"},
        content=csv_file(
            csv_row("foreign_nationals", value=140000),
            csv_row("population", value="1e308"),
            csv_row("foreign_nationals_share", value=12, value_low=10, value_high=101),
            csv_row("reception_places", value=900),
        ),
    )

    problem = assert_problem(response, 422)
    reported = [(error["row"], error["column"]) for error in problem["errors"]]
    assert reported == [(3, "value"), (4, "value_high")], problem  # the header is row 1
    assert "1e+308" in problem["errors"][0]["detail"], problem
    assert "0 to 100" in problem["errors"][1]["detail"], problem
    assert await rows_of_period(session) == [], "a refused import wrote figures"


def test_every_unit_of_the_catalogue_has_bounds() -> None:
    # A unit without bounds would make every write of its figures fail.
    assert set(BOUNDS) == set(Unit)
