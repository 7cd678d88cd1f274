"""Small-number suppression of breakdowns of counts, on every read, and the CSV export.

Vienna has no figures in the demo data; this module writes its own for 2030, so what a test
reads of Vienna's 2030 figures is all there is.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services import profiles_api
from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import recompute_indicator
from services.profiles_api.app import create_app
from services.profiles_api.observations.models import Observation
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import client_in_transaction, make_settings
from tests.factories import CSV_HEADER, Api, assert_problem, csv_file, error_fields, observation

PERIOD = "2030"
REGISTER = {
    "title": "Wiener Bevölkerungsregister (suppression test)",
    "publisher": "Stadt Wien, MA 23",
    "url": "https://www.wien.gv.at/statistik/bevoelkerung/",
    "kind": "register",
}
#: Vienna's figures: (indicator, breakdown, value, extra fields).
FIGURES: dict[str, tuple[str, dict[str, str], float, dict[str, Any]]] = {
    "total": ("foreign_nationals", {}, 3, {}),
    "small": (
        "foreign_nationals",
        {"citizenship": "SY"},
        3,
        {"value_low": 2, "value_high": 4, "obs_status": "E", "note": 'Register, "small" cell'},
    ),
    "at_threshold": ("foreign_nationals", {"citizenship": "TR"}, 5, {}),
    "large": ("foreign_nationals", {"citizenship": "DE"}, 1200, {}),
    "small_count": ("regularisation_applications", {"citizenship": "SY"}, 2, {}),
    "small_percent": ("unemployment_rate_foreign", {"sex": "F"}, 2.5, {}),
}
#: Callers who may not edit Vienna: (role, cities of the token).
OUTSIDERS = [
    pytest.param(None, (), id="anonymous"),
    pytest.param(Role.viewer, (), id="viewer"),
    pytest.param(Role.editor, ("PTLIS",), id="editor of Lisbon"),
]
#: Callers who may: an editor of Vienna and an admin.
INSIDERS = [
    pytest.param(Role.editor, ("ATVIE",), id="editor of Vienna"),
    pytest.param(Role.admin, (), id="admin"),
]


def vienna(name: str, **overrides: Any) -> dict[str, Any]:
    indicator, dimensions, value, extra = FIGURES[name]
    fields = {
        "city": "ATVIE",
        "indicator": indicator,
        "period": PERIOD,
        "dimensions": dimensions,
        "value": value,
        "source": REGISTER,
        **extra,
    }
    return observation(**{**fields, **overrides})


async def write(api: Api, *observations: dict[str, Any], reason: str | None = None) -> None:
    body: dict[str, Any] = {"observations": list(observations)}
    if reason is not None:
        body["reason"] = reason
    response = await api.post("/v1/observations", json=body, role=Role.admin)
    assert response.status_code == 200, response.text


@pytest.fixture
async def figures(api: Api) -> dict[str, int]:
    """Vienna's 2030 figures, written by an admin; their ids by name."""
    await write(api, *(vienna(name) for name in FIGURES))
    items = await vienna_items(api, Role.admin)
    ids = {}
    for name, (indicator, dimensions, _, _) in FIGURES.items():
        [item] = [i for i in items if (i["indicator"], i["dimensions"]) == (indicator, dimensions)]
        ids[name] = item["id"]
    return ids


async def vienna_items(
    api: Api, role: Role | None, cities: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    response = await api.get(
        "/v1/observations",
        params={"city": "ATVIE", "period_from": PERIOD, "limit": "1000"},
        role=role,
        cities=cities,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def by_id(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "cities"), OUTSIDERS)
async def test_small_breakdowns_of_counts_are_suppressed_for_callers_who_may_not_edit_the_city(
    api: Api, figures: dict[str, int], role: Role | None, cities: tuple[str, ...]
) -> None:
    items = by_id(await vienna_items(api, role, cities))
    for name in ("small", "small_count"):
        item = items[figures[name]]
        assert item["status"] == "suppressed", (name, item)
        assert (item["value"], item["value_low"], item["value_high"]) == (None, None, None), item
    small = items[figures["small"]]
    # Everything else of the figure stays: its key, status, note and source.
    assert small["dimensions"] == {"citizenship": "SY"} and small["obs_status"] == "E"
    assert small["note"] == 'Register, "small" cell'
    assert small["source"]["title"] == REGISTER["title"]


@pytest.mark.parametrize(("role", "cities"), INSIDERS)
async def test_editors_of_the_city_and_admins_see_small_counts(
    api: Api, figures: dict[str, int], role: Role, cities: tuple[str, ...]
) -> None:
    items = by_id(await vienna_items(api, role, cities))
    small = items[figures["small"]]
    assert (small["value"], small["value_low"], small["value_high"], small["status"]) == (
        3,
        2,
        4,
        "shown",
    ), small
    assert items[figures["small_count"]]["value"] == 2


async def test_totals_are_never_suppressed(api: Api, figures: dict[str, int]) -> None:
    total = by_id(await vienna_items(api, None))[figures["total"]]
    assert (total["value"], total["status"]) == (3, "shown"), total


async def test_breakdowns_at_or_above_the_threshold_are_shown(
    api: Api, figures: dict[str, int]
) -> None:
    items = by_id(await vienna_items(api, None))
    assert items[figures["at_threshold"]]["value"] == 5, items[figures["at_threshold"]]
    assert items[figures["large"]]["value"] == 1200
    assert {items[figures[n]]["status"] for n in ("at_threshold", "large")} == {"shown"}


async def test_small_values_of_other_units_are_never_suppressed(
    api: Api, figures: dict[str, int]
) -> None:
    rate = by_id(await vienna_items(api, None))[figures["small_percent"]]
    assert (rate["value"], rate["status"]) == (2.5, "shown"), rate


async def test_reading_one_observation_suppresses_a_small_count(
    api: Api, figures: dict[str, int]
) -> None:
    anonymous = await api.get(f"/v1/observations/{figures['small']}")
    assert anonymous.status_code == 200, anonymous.text
    assert (anonymous.json()["value"], anonymous.json()["status"]) == (None, "suppressed")
    editor = await api.get(
        f"/v1/observations/{figures['small']}", role=Role.editor, cities=("ATVIE",)
    )
    assert (editor.json()["value"], editor.json()["status"]) == (3, "shown"), editor.text


@asynccontextmanager
async def api_with_threshold(
    connection: AsyncConnection, settings: Settings, threshold: int
) -> AsyncIterator[Api]:
    """A client of a profiles app configured with another suppression threshold."""
    assert settings.database_url is not None and settings.redis_url is not None
    configured = make_settings(
        settings.database_url, settings.redis_url, suppression_threshold=threshold
    )
    app = create_app(configured)
    async with (
        app.router.lifespan_context(app),
        client_in_transaction(app, connection, configured, "http://profiles.test") as client,
    ):
        yield client


async def test_a_threshold_of_zero_shows_every_value(
    api: Api, figures: dict[str, int], connection: AsyncConnection, settings: Settings
) -> None:
    async with api_with_threshold(connection, settings, 0) as unsuppressed:
        items = by_id(await vienna_items(unsuppressed, None))
    assert items[figures["small"]]["value"] == 3, items[figures["small"]]
    assert items[figures["small_count"]]["value"] == 2
    assert {item["status"] for item in items.values()} == {"shown"}


async def test_the_threshold_is_configurable(
    api: Api, figures: dict[str, int], connection: AsyncConnection, settings: Settings
) -> None:
    async with api_with_threshold(connection, settings, 10) as stricter:
        items = by_id(await vienna_items(stricter, None))
    # 5 is now below the threshold; 1200 is not, and the total never is.
    assert items[figures["at_threshold"]]["status"] == "suppressed", items[figures["at_threshold"]]
    assert items[figures["large"]]["value"] == 1200
    assert items[figures["total"]]["value"] == 3


# --- history, profile, comparisons --------------------------------------------------------------


async def history(
    api: Api, observation_id: int, role: Role, cities: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/observations/{observation_id}/history", role=role, cities=cities)
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()["items"]
    return changes


async def test_history_hides_small_values_from_viewers_and_shows_them_to_the_citys_editor(
    api: Api, figures: dict[str, int]
) -> None:
    await write(api, vienna("small", value=12, value_low=None, value_high=None), reason="revised")
    created, updated = await history(api, figures["small"], Role.viewer)
    assert (created["new_value"], created["new"]["value"], created["new"]["value_high"]) == (
        None,
        None,
        None,
    ), created
    assert created["status"] == "suppressed" and created["new"]["obs_status"] == "E"
    # The change from 3 to 12: the old value is hidden, the new one is not small.
    assert (updated["old_value"], updated["new_value"], updated["status"]) == (
        None,
        12,
        "suppressed",
    ), updated
    created, updated = await history(api, figures["small"], Role.editor, ("ATVIE",))
    assert (created["new_value"], updated["old_value"], updated["status"]) == (3, 3, "shown")


async def test_history_of_a_withdrawn_small_count_stays_hidden_from_all_but_admins(
    api: Api, figures: dict[str, int]
) -> None:
    response = await api.delete(
        f"/v1/observations/{figures['small']}", params={"reason": "error"}, role=Role.admin
    )
    assert response.status_code == 204, response.text
    _, deleted = await history(api, figures["small"], Role.viewer)
    assert (deleted["change"], deleted["old_value"], deleted["status"]) == (
        "deleted",
        None,
        "suppressed",
    ), deleted
    _, deleted = await history(api, figures["small"], Role.admin)
    assert deleted["old_value"] == 3, deleted


async def test_the_profile_shows_small_totals_and_says_they_are_shown(
    api: Api, figures: dict[str, int]
) -> None:
    response = await api.get("/v1/cities/ATVIE/profile")
    assert response.status_code == 200, response.text
    [figure] = [f for f in response.json()["figures"] if f["indicator"] == "foreign_nationals"]
    assert (figure["observation_id"], figure["value"], figure["status"]) == (
        figures["total"],
        3,
        "shown",
    ), figure


async def test_comparisons_show_small_totals(api: Api, figures: dict[str, int]) -> None:
    response = await api.get(
        "/v1/compare",
        params={"indicator": "foreign_nationals", "cities": "ATVIE", "period": PERIOD},
    )
    assert response.status_code == 200, response.text
    [value] = response.json()["values"]
    assert (value["observation_id"], value["value"], value["status"]) == (
        figures["total"],
        3,
        "shown",
    ), value


# --- the CSV export -----------------------------------------------------------------------------


async def export(
    api: Api,
    role: Role | None = None,
    cities: tuple[str, ...] = (),
    **params: str,
) -> list[dict[str, str]]:
    response = await api.get(
        "/v1/observations",
        params={"format": "csv", **params},
        role=role,
        cities=cities,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv"), response.headers
    return read_csv(response.text)


async def test_the_csv_export_suppresses_small_counts_with_an_empty_value_and_a_status(
    api: Api, figures: dict[str, int]
) -> None:
    rows = await export(api, city="ATVIE", period_from=PERIOD)
    assert len(rows) == len(FIGURES)
    by_breakdown = {(r["indicator"], r["dimension"]): r for r in rows}
    small = by_breakdown["foreign_nationals", "citizenship=SY"]
    assert (small["value"], small["value_low"], small["value_high"], small["status"]) == (
        "",
        "",
        "",
        "suppressed",
    ), small
    assert (small["obs_status"], small["note"], small["source_title"]) == (
        "E",
        'Register, "small" cell',
        REGISTER["title"],
    )
    assert by_breakdown["foreign_nationals", ""]["value"] == "3"
    assert by_breakdown["unemployment_rate_foreign", "sex=F"]["value"] == "2.5"
    suppressed = {key for key, row in by_breakdown.items() if row["status"] == "suppressed"}
    assert suppressed == {
        ("foreign_nationals", "citizenship=SY"),
        ("regularisation_applications", "citizenship=SY"),
    }, suppressed
    assert by_breakdown["regularisation_applications", "citizenship=SY"]["value"] == ""


async def test_the_csv_export_is_chosen_by_accept_or_by_format_and_says_it_varies(
    api: Api, figures: dict[str, int]
) -> None:
    params = {"city": "ATVIE", "period_from": PERIOD}
    by_accept = await api.get("/v1/observations", params=params, headers={"Accept": "text/csv"})
    by_format = await api.get("/v1/observations", params={**params, "format": "csv"})
    assert by_accept.text == by_format.text
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    assert "attachment" in by_accept.headers["content-disposition"]
    # Caches keep one answer per format and per caller (what is suppressed depends on who).
    assert {part.strip() for part in by_accept.headers["vary"].split(",")} >= {
        "Accept",
        "Authorization",
    }
    as_json = await api.get(
        "/v1/observations", params=params, headers={"Accept": "text/csv;q=0.5, */*"}
    )
    assert as_json.headers["content-type"] == "application/json", as_json.headers
    assert "Accept" in as_json.headers["vary"]


@pytest.mark.parametrize("parameter", ["limit", "cursor"])
async def test_the_csv_export_refuses_page_parameters_naming_them(api: Api, parameter: str) -> None:
    value = {"limit": "10", "cursor": "WyJBVFZJRSJd"}[parameter]
    response = await api.get("/v1/observations", params={"format": "csv", parameter: value})
    assert error_fields(assert_problem(response, 422)) == {parameter}


async def test_the_csv_export_holds_every_matching_row_beyond_one_batch(
    api: Api, session: AsyncSession
) -> None:
    days = [date(2030, 1, 1) + timedelta(days=n) for n in range(1105)]
    await write(
        api,
        *(
            observation(city="ATVIE", period=day.isoformat(), value=1000 + n, source=REGISTER)
            for n, day in enumerate(days)
        ),
    )
    rows = await export(api, city="ATVIE")
    assert [r["period"] for r in rows] == [day.isoformat() for day in days]
    assert [r["value"] for r in rows] == [str(1000 + n) for n in range(len(days))]
    everything = await export(api)
    stored = await session.scalar(select(func.count()).select_from(Observation))
    assert len(everything) == stored, (len(everything), stored)


async def test_a_city_editors_export_imports_back_unchanged(
    api: Api, figures: dict[str, int]
) -> None:
    await write(api, vienna("large", value=1234.0, note="line one\nline two, with a comma"))
    editor = (Role.editor, ("ATVIE",))
    before = await export(api, *editor, city="ATVIE")
    response = await api.get(
        "/v1/observations",
        params={"format": "csv", "city": "ATVIE"},
        role=Role.editor,
        cities=("ATVIE",),
    )
    imported = await api.post(
        "/v1/imports",
        content=response.content,
        headers={"Content-Type": "text/csv"},
        role=Role.editor,
        cities=("ATVIE",),
    )
    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert (result["rows"], result["inserted"], result["updated"], result["unchanged"]) == (
        len(FIGURES),
        0,
        0,
        len(FIGURES),
    ), result
    assert result["sources_created"] == 0 and result["notes"] == [], result
    assert await export(api, *editor, city="ATVIE") == before


async def test_a_suppressed_row_of_an_export_is_refused_by_the_import_naming_status(
    api: Api, figures: dict[str, int]
) -> None:
    anonymous = await api.get("/v1/observations", params={"format": "csv", "city": "ATVIE"})
    response = await api.post(
        "/v1/imports",
        content=anonymous.content,
        headers={"Content-Type": "text/csv"},
        role=Role.editor,
        cities=("ATVIE",),
    )
    problem = assert_problem(response, 422)
    refused = [e for e in problem["errors"] if e["column"] == "status"]
    assert len(refused) == 2, problem  # the small foreign nationals and applications
    assert "suppressed" in refused[0]["detail"]


# --- side channels ------------------------------------------------------------------------------


async def test_filters_select_a_suppressed_figure_whatever_its_value(
    api: Api, figures: dict[str, int]
) -> None:
    """A filter that selected by value would reveal it: the filters are all on the key."""
    first = await api.get(
        "/v1/observations", params={"city": "ATVIE", "dimension": "citizenship=SY"}
    )
    await write(api, vienna("small", value=4))
    second = await api.get(
        "/v1/observations", params={"city": "ATVIE", "dimension": "citizenship=SY"}
    )

    def shown(response: Any) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in item.items() if k != "updated_at"}
            for item in response.json()["items"]
        ]

    assert shown(first) == shown(second), (first.text, second.text)
    # The ETag says nothing the body does not: it changes only with what the caller reads.
    again = await api.get(
        "/v1/observations", params={"city": "ATVIE", "dimension": "citizenship=SY"}
    )
    assert again.headers["etag"] == second.headers["etag"]
    assert (first.headers["etag"] == second.headers["etag"]) == (first.content == second.content)


async def computed(session: AsyncSession, *codes: str) -> None:
    catalogue = await Catalogue.load(session)
    for code in catalogue.in_order(codes):
        definition = catalogue.get(code)
        assert definition is not None
        await recompute_indicator(session, definition)


async def aggregate(
    api: Api, breakdown: str, role: Role | None = None, cities: tuple[str, ...] = ()
) -> dict[str, Any]:
    response = await api.get(
        "/v1/aggregates",
        params={
            "indicator": "foreign_nationals",
            "period": PERIOD,
            "group": "network",
            "disaggregation": breakdown,
        },
        role=role,
        cities=cities,
    )
    assert response.status_code == 200, response.text
    [found] = response.json()["items"]
    result: dict[str, Any] = found
    return result


async def test_an_aggregate_combining_a_small_count_is_suppressed(
    api: Api, session: AsyncSession, figures: dict[str, int]
) -> None:
    """Lisbon's visible 40 Syrians taken from the network's 43 would give Vienna's 3."""
    lisbon = {"title": "INE (suppression test)", "kind": "census"}
    await write(
        api,
        observation(
            city="PTLIS",
            period=PERIOD,
            dimensions={"citizenship": "SY"},
            value=40,
            source=lisbon,
        ),
        observation(
            city="PTLIS",
            period=PERIOD,
            dimensions={"citizenship": "DE"},
            value=800,
            source=lisbon,
        ),
    )
    await computed(session, "foreign_nationals")
    hidden = await aggregate(api, "citizenship=SY")
    assert (hidden["value"], hidden["status"], hidden["cities"]) == (
        None,
        "suppressed",
        ["ATVIE", "PTLIS"],
    ), hidden
    # Only who may see every contributing city's figures sees it.
    vienna_only = await aggregate(api, "citizenship=SY", Role.editor, ("ATVIE",))
    assert vienna_only["value"] is None
    both = await aggregate(api, "citizenship=SY", Role.editor, ("ATVIE", "PTLIS"))
    assert (both["value"], both["status"]) == (43, "shown"), both
    assert (await aggregate(api, "citizenship=SY", Role.admin))["value"] == 43
    # No small count in it, or the total: shown.
    assert (await aggregate(api, "citizenship=DE"))["value"] == 2000
    assert (await aggregate(api, ""))["value"] == 3


async def write_small_share(api: Api, session: AsyncSession) -> None:
    """Vienna's foreign women (4, a small count) and its population, and the share derived
    from them."""
    await write(
        api,
        vienna("total", dimensions={"sex": "F"}, value=4),
        *(
            observation(
                city="ATVIE",
                indicator="population",
                period=PERIOD,
                dimensions=dimensions,
                value=value,
                source=REGISTER,
            )
            for dimensions, value in (({"sex": "F"}, 1000), ({}, 1_900_000))
        ),
    )
    await computed(session, "foreign_nationals", "population", "foreign_nationals_share")


async def test_a_derived_value_computed_from_a_small_count_is_suppressed_with_that_input(
    api: Api, session: AsyncSession
) -> None:
    await write_small_share(api, session)

    async def share(role: Role | None, cities: tuple[str, ...] = ()) -> dict[str, Any]:
        response = await api.get(
            "/v1/derived-values",
            params={
                "indicator": "foreign_nationals_share",
                "city": "ATVIE",
                "period": PERIOD,
                "disaggregation": "sex=F",
            },
            role=role,
            cities=cities,
        )
        assert response.status_code == 200, response.text
        [value] = response.json()["items"]
        found: dict[str, Any] = value
        return found

    anonymous = await share(None)
    inputs = {i["indicator"]: i for i in anonymous["inputs"]}
    assert (anonymous["value"], anonymous["status"]) == (None, "suppressed"), anonymous
    assert (inputs["foreign_nationals"]["value"], inputs["foreign_nationals"]["status"]) == (
        None,
        "suppressed",
    )
    assert inputs["population"]["value"] == 1000
    editor = await share(Role.editor, ("ATVIE",))
    assert (editor["value"], editor["status"]) == (0.4, "shown"), editor

    # The network's mean share of women weighs Vienna's in: it would give the share back.
    async def network_share(role: Role | None, cities: tuple[str, ...] = ()) -> dict[str, Any]:
        response = await api.get(
            "/v1/aggregates",
            params={
                "indicator": "foreign_nationals_share",
                "period": PERIOD,
                "group": "network",
                "disaggregation": "sex=F",
            },
            role=role,
            cities=cities,
        )
        assert response.status_code == 200, response.text
        [found] = response.json()["items"]
        result: dict[str, Any] = found
        return result

    hidden = await network_share(None)
    assert (hidden["value"], hidden["status"], hidden["derived_cities"]) == (
        None,
        "suppressed",
        ["ATVIE"],
    ), hidden
    assert (await network_share(Role.editor, ("ATVIE",)))["value"] == 0.4


async def test_an_import_refuses_an_unknown_status_naming_the_column(api: Api) -> None:
    header = f"{CSV_HEADER},status"
    row = (
        "ATVIE,foreign_nationals,2030,municipality,,1500,,,A,"
        f"{REGISTER['title']},,,register,,hidden"
    )
    response = await api.post(
        "/v1/imports",
        content=csv_file(row, header=header),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )
    problem = assert_problem(response, 422)
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(2, "status")], problem


# --- the rule on every read path ----------------------------------------------------------------

#: Every kind of caller, and whether they see Vienna's small counts.
CALLERS = [
    (None, (), False, "anonymous"),
    (Role.viewer, (), False, "viewer"),
    (Role.editor, ("PTLIS",), False, "editor of Lisbon"),
    (Role.editor, ("ATVIE",), True, "editor of Vienna"),
    (Role.admin, (), True, "admin"),
]


async def small_in_list(api: Api, role: Role | None, cities: tuple[str, ...]) -> dict[str, Any]:
    [small] = [
        item
        for item in await vienna_items(api, role, cities)
        if (item["indicator"], item["dimensions"]) == ("foreign_nationals", {"citizenship": "SY"})
    ]
    return small


async def read_small(
    path: str, api: Api, session: AsyncSession, role: Role | None, cities: tuple[str, ...]
) -> tuple[float | None, str]:
    """What ``path`` answers the caller of the small count's value (Vienna's 3 Syrians, or the
    share of women computed from Vienna's 4 foreign women), and its status."""
    if path == "list":
        small = await small_in_list(api, role, cities)
        return small["value"], small["status"]
    if path == "single read":
        small_id = (await small_in_list(api, Role.admin, ()))["id"]
        response = await api.get(f"/v1/observations/{small_id}", role=role, cities=cities)
        assert response.status_code == 200, response.text
        return response.json()["value"], response.json()["status"]
    if path == "CSV export":
        rows = await export(api, role, cities, city="ATVIE", period_from=PERIOD)
        [row] = [r for r in rows if (r["indicator"], r["dimension"]) == FOREIGN_SYRIANS]
        return (float(row["value"]) if row["value"] else None), row["status"]
    if path == "history":
        small_id = (await small_in_list(api, Role.admin, ()))["id"]
        [created] = await history(api, small_id, role, cities)
        return created["new_value"], created["status"]
    if path == "aggregates":
        await computed(session, "foreign_nationals")
        found = await aggregate(api, "citizenship=SY", role, cities)
        return found["value"], found["status"]
    assert path == "derived values", path
    await write_small_share(api, session)
    response = await api.get(
        "/v1/derived-values",
        params={"indicator": "foreign_nationals_share", "city": "ATVIE", "disaggregation": "sex=F"},
        role=role,
        cities=cities,
    )
    assert response.status_code == 200, response.text
    [share] = response.json()["items"]
    return share["value"], share["status"]


FOREIGN_SYRIANS = ("foreign_nationals", "citizenship=SY")
#: Each read path of figures, and the small value it reads to who may see it.
READ_PATHS = {
    "list": 3,
    "single read": 3,
    "CSV export": 3,
    "history": 3,
    "aggregates": 3,
    "derived values": 0.4,
}


@pytest.mark.parametrize(
    ("path", "role", "cities", "sees"),
    [
        pytest.param(path, role, cities, sees, id=f"{path}, {caller}")
        for path in READ_PATHS
        for role, cities, sees, caller in CALLERS
        # The history needs a token (it names who changed what): anonymous callers get a 401.
        if not (path == "history" and role is None)
    ],
)
async def test_every_read_path_hides_a_small_count_from_all_but_the_citys_editors_and_admins(
    api: Api,
    session: AsyncSession,
    figures: dict[str, int],
    path: str,
    role: Role | None,
    cities: tuple[str, ...],
    sees: bool,
) -> None:
    value, status = await read_small(path, api, session, role, cities)
    expected = (READ_PATHS[path], "shown") if sees else (None, "suppressed")
    assert (value, status) == expected, f"{path}: read {(value, status)}, expected {expected}"


@pytest.mark.parametrize(
    ("role", "cities"),
    [pytest.param(role, cities, id=caller) for role, cities, _, caller in CALLERS],
)
async def test_profiles_and_comparisons_show_small_totals_to_every_caller(
    api: Api, figures: dict[str, int], role: Role | None, cities: tuple[str, ...]
) -> None:
    """They read totals only, which are never suppressed, however small."""
    profile = await api.get("/v1/cities/ATVIE/profile", role=role, cities=cities)
    assert profile.status_code == 200, profile.text
    [figure] = [f for f in profile.json()["figures"] if f["indicator"] == "foreign_nationals"]
    compared = await api.get(
        "/v1/compare",
        params={"indicator": "foreign_nationals", "cities": "ATVIE", "period": PERIOD},
        role=role,
        cities=cities,
    )
    assert compared.status_code == 200, compared.text
    [value] = compared.json()["values"]
    for read in (figure, value):
        assert (read["observation_id"], read["value"], read["status"]) == (
            figures["total"],
            3,
            "shown",
        ), read


#: The module that holds the rule; only services may apply it.
SUPPRESSION_MODULE = "services.profiles_api.observations.suppression"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, and every name it imports from one (``a.b.c`` for
    ``from a.b import c``), annotation-only imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_routers_and_the_export_writer_leave_suppression_to_the_services() -> None:
    """A read path the services answer cannot forget the rule: the HTTP layer never sees it."""
    api_root = Path(profiles_api.__file__).parent
    http_layer = sorted(
        [
            *api_root.glob("**/router.py"),
            *api_root.glob("**/export.py"),
            *api_root.glob("**/dependencies.py"),
        ]
    )
    assert api_root / "observations" / "router.py" in http_layer, http_layer
    offenders = [
        str(path.relative_to(api_root))
        for path in http_layer
        if SUPPRESSION_MODULE in imported_modules(path)
    ]
    assert offenders == [], f"these modules import {SUPPRESSION_MODULE}: {offenders}"
