"""Observations: batch upserts with history and outbox events, queries, reads and withdrawals."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.repository import ObservationFilter, page_statement
from shared.auth import Role
from shared.pagination import PageParams
from tests.factories import (
    Api,
    assert_problem,
    error_field_list,
    observation,
    outbox_position,
    outbox_since,
)

#: Vienna has no figures in the demo data, so what a test writes there is all there is.
REGISTER = {
    "title": "Wiener Bevölkerungsregister (test)",
    "publisher": "Stadt Wien, MA 23",
    "url": "https://www.wien.gv.at/statistik/bevoelkerung/",
    "kind": "register",
}
PRESS = {
    "title": "Der Standard (test)",
    "url": "https://www.derstandard.at/wien",
    "kind": "press",
}
SURVEY = {"title": "Wiener Lebensqualitätsstudie (test)", "kind": "survey"}


def vienna(**overrides: Any) -> dict[str, Any]:
    """A valid observation of Vienna (2019, municipality, total, register source)."""
    return observation(**{"city": "ATVIE", "period": "2019", "source": REGISTER, **overrides})


async def post_batch(
    api: Api,
    *observations: dict[str, Any],
    role: Role | None = Role.admin,
    cities: tuple[str, ...] = (),
    reason: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"observations": list(observations)}
    if reason is not None:
        body["reason"] = reason
    return await api.post("/v1/observations", json=body, role=role, cities=cities)


async def posted(api: Api, *observations: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Post a batch that must succeed; its counts."""
    response = await post_batch(api, *observations, **kwargs)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def query(api: Api, params: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every observation a query returns, following ``next_cursor`` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = list(params.items() if isinstance(params, dict) else params or [])
        if cursor is not None:
            page_params.append(("cursor", cursor))
        response = await api.get("/v1/observations", params=page_params, **kwargs)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def vienna_rows(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT id, indicator_code, period, scope, disaggregation, value, value_low, "
            "value_high, obs_status, note, source_id, updated_at, updated_by "
            "FROM profiles.observation WHERE city_code = 'ATVIE' ORDER BY id"
        )
    )
    return [dict(row._mapping) for row in rows]


async def history(api: Api, observation_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/observations/{observation_id}/history", role=Role.viewer)
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()["items"]
    return changes


async def source_id(session: AsyncSession, title: str) -> int:
    found = await session.scalar(
        text("SELECT id FROM profiles.source WHERE title = :title"), {"title": title}
    )
    assert found is not None, f"no source titled {title!r}"
    return int(found)


# --- batch upserts -----------------------------------------------------------------------------


async def test_batch_reports_inserted_updated_and_unchanged_counts(api: Api) -> None:
    first = await posted(
        api,
        vienna(value=1000),
        vienna(period="2020", value=1100),
        vienna(period="2021", value=1200),
    )
    assert first == {
        "received": 3,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "sources_created": 1,
        "notes": [],
    }, first

    second = await posted(
        api,
        vienna(value=1000),  # unchanged
        vienna(period="2020", value=1150),  # updated
        vienna(period="2022", value=1300),  # new
    )
    assert second == {
        "received": 3,
        "inserted": 1,
        "updated": 1,
        "unchanged": 1,
        "sources_created": 0,
        "notes": [],
    }, second


async def test_reposting_the_same_batch_changes_nothing(api: Api, session: AsyncSession) -> None:
    batch = [
        vienna(value=1000, note="first release"),
        vienna(dimensions={"sex": "F"}, value=520),
        vienna(value=None, obs_status="M", period="2020"),
        vienna(value=1050, value_low=1000, value_high=1100, obs_status="E", period="2021"),
    ]
    await posted(api, *batch)
    rows_before = await vienna_rows(session)
    position = await outbox_position(session)

    again = await posted(api, *batch)

    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 4), again
    assert await vienna_rows(session) == rows_before
    for row in rows_before:
        changes = await history(api, row["id"])
        assert [change["change"] for change in changes] == ["created"], changes
    assert await outbox_since(session, position) == []


async def test_changing_a_value_records_who_old_and_new_value_and_why(
    api: Api, session: AsyncSession
) -> None:
    await posted(api, vienna(value=1000), role=Role.editor, cities=("ATVIE",))
    result = await posted(
        api,
        vienna(value=1234, note="register revision"),
        role=Role.editor,
        cities=("ATVIE",),
        reason="revised register count",
    )
    assert result["updated"] == 1, result

    [row] = await vienna_rows(session)
    assert row["value"] == 1234, row
    changes = await history(api, row["id"])
    assert [change["change"] for change in changes] == ["created", "updated"], changes
    created, updated = changes
    assert created["old_value"] is None and created["new_value"] == 1000, created
    assert updated["changed_by"] == "editor@test", updated
    assert (updated["old_value"], updated["new_value"]) == (1000, 1234), updated
    assert updated["reason"] == "revised register count", updated
    assert updated["old"]["note"] is None and updated["new"]["note"] == "register revision", updated
    assert updated["import_id"] is None, updated


async def test_history_of_an_observation_needs_a_token(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna())
    [row] = await vienna_rows(session)
    response = await api.get(f"/v1/observations/{row['id']}/history")
    assert_problem(response, 401)


async def test_history_of_an_unknown_observation_is_404(api: Api) -> None:
    response = await api.get("/v1/observations/987654321/history", role=Role.viewer)
    assert_problem(response, 404)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"city": "XXABC"}, "city", id="unknown city"),
        pytest.param({"indicator": "no_such_indicator"}, "indicator", id="unknown indicator"),
        pytest.param({"dimensions": {"district": "01"}}, "dimensions", id="dimension not allowed"),
        pytest.param({"dimensions": {"sex": "F M"}}, "dimensions", id="bad dimension value"),
        pytest.param({"value": None}, "value", id="value missing without status M"),
        pytest.param({"value": 5, "obs_status": "M"}, "obs_status", id="value with status M"),
        pytest.param({"value": -5}, "value", id="negative count"),
        pytest.param({"value": 10.5}, "value", id="fraction of an integer indicator"),
        pytest.param(
            {"value": 50, "value_low": 60, "value_high": 80}, "value", id="value below its range"
        ),
        pytest.param(
            {"value": 90, "value_low": 60, "value_high": 80}, "value", id="value above its range"
        ),
        pytest.param(
            {"value": 70, "value_low": 80, "value_high": 60}, "value_low", id="range upside down"
        ),
        pytest.param({"period": "2019-13"}, "period", id="month 13"),
        pytest.param({"period": "2019-02-30"}, "period", id="no such day"),
        pytest.param({"scope": "planet"}, "scope", id="unknown scope"),
        pytest.param({"source": None, "source_id": 987654321}, "source_id", id="unknown source"),
    ],
)
async def test_one_invalid_observation_rejects_the_batch_naming_its_field(
    api: Api, session: AsyncSession, overrides: dict[str, Any], field: str
) -> None:
    position = await outbox_position(session)
    response = await post_batch(
        api, vienna(), vienna(**{"period": "2020", **overrides}), vienna(period="2021")
    )
    problem = assert_problem(response, 422)
    assert f"observations.1.{field}" in error_field_list(response.json()), problem
    assert await vienna_rows(session) == [], "a rejected batch wrote observations"
    assert await outbox_since(session, position) == [], "a rejected batch wrote an event"


async def test_every_invalid_observation_of_a_batch_is_reported(api: Api) -> None:
    response = await post_batch(
        api, vienna(value=-1), vienna(period="2020"), vienna(period="2021", indicator="nope_x")
    )
    assert_problem(response, 422)
    assert error_field_list(response.json()) == [
        "observations.0.value",
        "observations.2.indicator",
    ], response.text


async def test_value_may_be_missing_with_status_m(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna(value=None, obs_status="M"))
    [row] = await vienna_rows(session)
    assert (row["value"], row["obs_status"]) == (None, "M"), row


async def test_decimal_indicator_accepts_fractions(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna(indicator="foreign_nationals_share", value=31.7))
    [row] = await vienna_rows(session)
    assert row["value"] == 31.7, row


async def test_duplicate_keys_in_one_batch_are_rejected(api: Api, session: AsyncSession) -> None:
    response = await post_batch(api, vienna(value=1), vienna(period="2020"), vienna(value=2))
    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["field"] == "observations.2", error
    assert "observations.0" in error["detail"], error
    assert await vienna_rows(session) == []


async def test_same_key_from_another_source_is_not_a_duplicate(
    api: Api, session: AsyncSession
) -> None:
    result = await posted(api, vienna(value=1), vienna(value=2, source=PRESS))
    assert result["inserted"] == 2, result
    assert len(await vienna_rows(session)) == 2


async def test_source_id_and_matching_inline_source_in_one_batch_are_duplicates(
    api: Api, session: AsyncSession
) -> None:
    await posted(api, vienna(period="2018"))
    register_id = await source_id(session, REGISTER["title"])
    response = await post_batch(api, vienna(source=None, source_id=register_id), vienna())
    problem = assert_problem(response, 422)
    assert error_field_list(response.json()) == ["observations.1"], problem
    assert len(await vienna_rows(session)) == 1


async def test_batch_of_5000_observations_is_accepted(api: Api) -> None:
    first_day = date(2000, 1, 1)
    batch = [
        vienna(period=(first_day + timedelta(days=n)).isoformat(), value=n) for n in range(5000)
    ]
    result = await posted(api, *batch)
    assert (result["received"], result["inserted"]) == (5000, 5000), result


async def test_batch_of_more_than_5000_observations_is_rejected(
    api: Api, session: AsyncSession
) -> None:
    response = await post_batch(api, *[vienna(value=n) for n in range(5001)])
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["observations"], response.text[:500]
    assert await vienna_rows(session) == []


async def test_empty_batch_is_rejected(api: Api) -> None:
    response = await post_batch(api)
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["observations"], response.text


async def test_unknown_field_in_an_observation_is_rejected(api: Api) -> None:
    response = await post_batch(api, vienna(colour="blue"))
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["observations.0.colour"], response.text


@pytest.mark.parametrize(
    "source_fields",
    [
        pytest.param({"source": REGISTER, "source_id": 1}, id="both"),
        pytest.param({"source": None}, id="neither"),
    ],
)
async def test_observation_names_its_source_exactly_once(
    api: Api, session: AsyncSession, source_fields: dict[str, Any]
) -> None:
    response = await post_batch(api, vienna(**source_fields))
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["observations.0"], response.text
    assert await vienna_rows(session) == []


async def test_source_id_attributes_the_value_to_that_source(
    api: Api, session: AsyncSession
) -> None:
    turin_id = await source_id(
        session,
        "Sono il 15.8% i torinesi di nazionalità non italiana "
        "(Osservatorio interistituzionale sugli stranieri 2023)",
    )
    result = await posted(api, vienna(source=None, source_id=turin_id))
    assert result["sources_created"] == 0, result
    [row] = await vienna_rows(session)
    assert row["source_id"] == turin_id, row


async def test_inline_source_with_a_known_title_and_url_is_reused(
    api: Api, session: AsyncSession
) -> None:
    madrid = {
        "title": "MC2CM City Migration Profile Madrid (city migration dashboard)",
        "url": "https://www.imap-migration.org/urban/city-migration-dashboards/madrid",
        "kind": "press",  # kind and publisher do not take part in matching
    }
    madrid_id = await source_id(session, madrid["title"])
    sources_before = await session.scalar(text("SELECT count(*) FROM profiles.source"))

    result = await posted(api, vienna(source=madrid))

    assert result["sources_created"] == 0, result
    assert await session.scalar(text("SELECT count(*) FROM profiles.source")) == sources_before
    [row] = await vienna_rows(session)
    assert row["source_id"] == madrid_id, row


async def test_inline_source_with_a_new_url_is_created_with_the_rank_of_its_kind(
    api: Api, session: AsyncSession
) -> None:
    result = await posted(
        api,
        vienna(source=REGISTER),
        vienna(source={**REGISTER, "url": "https://data.wien.gv.at/"}, period="2020"),
        vienna(source=PRESS, period="2021"),
        vienna(source=SURVEY, period="2022"),
        vienna(source={"title": "Someone said (test)"}, period="2023"),
    )
    assert result["sources_created"] == 5, result
    ranks = dict(
        (
            await session.execute(
                text(
                    "SELECT coalesce(url, title), reliability_rank FROM profiles.source "
                    "WHERE id IN (SELECT source_id FROM profiles.observation "
                    "WHERE city_code = 'ATVIE')"
                )
            )
        ).all()
    )
    assert ranks == {
        REGISTER["url"]: 1,
        "https://data.wien.gv.at/": 1,
        PRESS["url"]: 5,
        SURVEY["title"]: 3,
        "Someone said (test)": 5,
    }, ranks


# --- who may write -----------------------------------------------------------------------------


async def test_anonymous_caller_cannot_write_observations(api: Api, session: AsyncSession) -> None:
    response = await post_batch(api, vienna(), role=None)
    assert_problem(response, 401)
    assert "bearer" in response.headers.get("www-authenticate", "").lower(), response.headers
    assert await vienna_rows(session) == []


async def test_viewer_cannot_write_observations(api: Api, session: AsyncSession) -> None:
    response = await post_batch(api, vienna(), role=Role.viewer)
    assert_problem(response, 403)
    assert await vienna_rows(session) == []


async def test_editor_of_lisbon_cannot_write_turin_rows(api: Api, session: AsyncSession) -> None:
    count = "SELECT count(*) FROM profiles.observation WHERE city_code IN ('PTLIS', 'ITTRN')"
    before = await session.scalar(text(count))
    position = await outbox_position(session)

    response = await post_batch(
        api,
        observation(city="PTLIS", period="2024", value=1),
        observation(city="ITTRN", period="2024", value=2),
        role=Role.editor,
        cities=("PTLIS",),
    )

    problem = assert_problem(response, 403)
    assert problem.get("cities") == ["ITTRN"], problem
    assert await session.scalar(text(count)) == before, "the Lisbon row was written"
    assert await outbox_since(session, position) == []


async def test_editor_writes_the_cities_of_the_token(api: Api) -> None:
    result = await posted(
        api,
        observation(city="PTLIS", period="2024", value=1),
        observation(city="ITTRN", period="2024", value=2),
        role=Role.editor,
        cities=("PTLIS", "ITTRN"),
    )
    assert result["inserted"] == 2, result


# --- the outbox --------------------------------------------------------------------------------


async def test_write_adds_an_observations_changed_event_in_the_same_transaction(
    api: Api, session: AsyncSession
) -> None:
    position = await outbox_position(session)
    await posted(
        api,
        vienna(value=1000),
        vienna(period="2020", value=1100),
        observation(city="ITTRN", period="2020"),
        role=Role.editor,
        cities=("ATVIE", "ITTRN"),
    )

    [event] = await outbox_since(session, position)
    assert (event["type"], event["actor"]) == ("observations.changed", "editor@test"), event
    data = event["envelope"]["data"]
    assert sorted((key["indicator"], key["period"], key["cities"]) for key in data["keys"]) == [
        ("foreign_nationals", "2019", ["ATVIE"]),
        ("foreign_nationals", "2020", ["ATVIE", "ITTRN"]),
    ], data
    assert (data["inserted"], data["updated"]) == (3, 0), data
    # Written by the same (sub)transaction as the observations themselves.
    xids = set(
        (
            await session.scalars(
                text("SELECT DISTINCT xmin::text FROM profiles.observation WHERE period = '2020'")
            )
        ).all()
    )
    assert xids == {event["xid"]}, (xids, event["xid"])


async def test_update_adds_an_event_counting_the_updates(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna(value=1000), vienna(period="2020", value=1100))
    position = await outbox_position(session)
    await posted(api, vienna(value=1001), vienna(period="2020", value=1100))
    [event] = await outbox_since(session, position)
    data = event["envelope"]["data"]
    assert (data["inserted"], data["updated"]) == (0, 1), data
    assert [(key["period"], key["cities"]) for key in data["keys"]] == [("2019", ["ATVIE"])], data


# --- queries -----------------------------------------------------------------------------------


@pytest.fixture
async def vienna_figures(api: Api, session: AsyncSession) -> dict[str, int]:
    """Figures of Vienna across indicators, periods, scopes, breakdowns, statuses and sources."""
    await posted(
        api,
        vienna(period="2018", value=900),
        vienna(period="2019", value=1000),
        vienna(period="2019", dimensions={"sex": "F"}, value=520),
        vienna(period="2019", dimensions={"sex": "M"}, value=480),
        vienna(period="2019", value=1200, source=PRESS),
        vienna(period="2020", scope="metro", value=1500, obs_status="P"),
        vienna(indicator="foreign_nationals_share", period="2021", value=31.7, obs_status="E"),
        vienna(indicator="reception_places", period="2021-Q2", value=300, source=SURVEY),
        vienna(indicator="foreign_by_district", period="2021-06", scope="district:01", value=8),
    )
    return {
        "register": await source_id(session, REGISTER["title"]),
        "press": await source_id(session, PRESS["title"]),
        "survey": await source_id(session, SURVEY["title"]),
    }


def figures(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str, float | None]]:
    return sorted(
        (
            item["indicator"],
            item["period"],
            item["scope"],
            ";".join(f"{k}={v}" for k, v in sorted(item["dimensions"].items())),
            item["value"],
        )
        for item in items
    )


@pytest.mark.usefixtures("vienna_figures")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"indicator": "reception_places"},
            [("reception_places", "2021-Q2", "municipality", "", 300)],
            id="indicator",
        ),
        pytest.param(
            {"theme": "housing"},
            [("reception_places", "2021-Q2", "municipality", "", 300)],
            id="theme",
        ),
        pytest.param(
            {"period_from": "2021", "period_to": "2021-06"},
            [
                ("foreign_by_district", "2021-06", "district:01", "", 8),
                ("reception_places", "2021-Q2", "municipality", "", 300),
            ],
            id="period range",
        ),
        pytest.param(
            {"period_to": "2018"},
            [("foreign_nationals", "2018", "municipality", "", 900)],
            id="period to",
        ),
        pytest.param(
            {"scope": "metro"},
            [("foreign_nationals", "2020", "metro", "", 1500)],
            id="scope",
        ),
        pytest.param(
            {"dimension": "sex=F"},
            [("foreign_nationals", "2019", "municipality", "sex=F", 520)],
            id="dimension",
        ),
        pytest.param(
            {"total": "true", "indicator": "foreign_nationals", "period_from": "2019"},
            [
                ("foreign_nationals", "2019", "municipality", "", 1000),
                ("foreign_nationals", "2019", "municipality", "", 1200),
                ("foreign_nationals", "2020", "metro", "", 1500),
            ],
            id="totals",
        ),
        pytest.param(
            {"status": "E"},
            [("foreign_nationals_share", "2021", "municipality", "", 31.7)],
            id="status",
        ),
        pytest.param(
            [("status", "E"), ("status", "P")],
            [
                ("foreign_nationals", "2020", "metro", "", 1500),
                ("foreign_nationals_share", "2021", "municipality", "", 31.7),
            ],
            id="statuses",
        ),
    ],
)
async def test_query_filters_vienna_figures(
    api: Api, params: dict[str, str] | list[tuple[str, str]], expected: list[Any]
) -> None:
    pairs = list(params.items()) if isinstance(params, dict) else params
    items = await query(api, [("city", "ATVIE"), *pairs])
    assert figures(items) == expected, figures(items)


async def test_queries_with_the_same_filters_and_other_values_answer_their_own_rows(
    api: Api, vienna_figures: dict[str, int]
) -> None:
    """The list's statement is built once per combination of filters and then runs with each
    request's values: no request may answer with another's values."""
    whole = await query(api, [("city", "ATVIE"), ("city", "PTLIS"), ("limit", "1000")])
    pairs = sorted({(item["city"], item["indicator"]) for item in whole})
    breakdowns = sorted(
        {
            (item["city"], f"{name}={code}")
            for item in whole
            for name, code in item["dimensions"].items()
        }
    )
    assert len(pairs) > 3 and len(breakdowns) > 1, (pairs, breakdowns)

    for city, indicator in pairs:
        # Pages of 2: the first page and the pages after a cursor are two statements.
        got = await query(api, {"city": city, "indicator": indicator, "limit": 2})
        assert [item["id"] for item in got] == [
            item["id"] for item in whole if (item["city"], item["indicator"]) == (city, indicator)
        ], (city, indicator)
    for city, dimension in breakdowns:
        name, code = dimension.split("=")
        got = await query(api, {"city": city, "dimension": dimension})
        assert [item["id"] for item in got] == [
            item["id"]
            for item in whole
            if item["city"] == city and item["dimensions"].get(name) == code
        ], (city, dimension)


async def test_query_filters_by_source(api: Api, vienna_figures: dict[str, int]) -> None:
    items = await query(api, {"city": "ATVIE", "source_id": vienna_figures["press"]})
    assert figures(items) == [("foreign_nationals", "2019", "municipality", "", 1200)], items
    assert items[0]["source"]["kind"] == "press", items[0]


async def test_query_accepts_repeated_and_comma_separated_cities(api: Api) -> None:
    lisbon = await query(api, {"city": "PTLIS"})
    turin = await query(api, {"city": "ITTRN"})
    assert lisbon and turin, "the demo data has figures of Lisbon and Turin"
    expected = sorted(item["id"] for item in lisbon + turin)

    repeated = await query(api, [("city", "PTLIS"), ("city", "ITTRN")])
    comma_separated = await query(api, {"city": "PTLIS,ITTRN"})

    assert sorted(item["id"] for item in repeated) == expected, repeated
    assert sorted(item["id"] for item in comma_separated) == expected, comma_separated


async def test_query_is_open_to_anonymous_callers(api: Api) -> None:
    response = await api.get("/v1/observations", params={"city": "ESMAD"})
    assert response.status_code == 200, response.text
    assert response.json()["items"], "no Madrid figures in the demo data"


async def test_query_rejects_a_malformed_dimension_filter(api: Api) -> None:
    response = await api.get("/v1/observations", params={"dimension": "sex"})
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["dimension"], response.text


async def test_preferred_keeps_the_most_reliable_source_of_each_figure(
    api: Api, vienna_figures: dict[str, int]
) -> None:
    every = await query(
        api, {"city": "ATVIE", "period_from": "2019", "period_to": "2019", "total": "true"}
    )
    assert sorted(item["value"] for item in every) == [1000, 1200], every

    preferred = await query(
        api,
        {
            "city": "ATVIE",
            "indicator": "foreign_nationals",
            "period_from": "2019",
            "period_to": "2019",
            "preferred": "true",
        },
    )

    assert figures(preferred) == [
        ("foreign_nationals", "2019", "municipality", "", 1000),
        ("foreign_nationals", "2019", "municipality", "sex=F", 520),
        ("foreign_nationals", "2019", "municipality", "sex=M", 480),
    ], figures(preferred)
    [total] = [item for item in preferred if not item["dimensions"]]
    assert total["source"]["id"] == vienna_figures["register"], total


async def test_preferred_keeps_the_newest_value_between_equally_reliable_sources(
    api: Api, session: AsyncSession
) -> None:
    older_source = {**REGISTER, "title": "Older register extract (test)"}
    await posted(api, vienna(value=1000, source=REGISTER), vienna(value=1111, source=older_source))
    # The second figure was entered last; make it the older one, as if written years ago.
    await session.execute(
        text(
            "UPDATE profiles.observation SET updated_at = '2015-01-01T00:00:00Z' "
            "WHERE city_code = 'ATVIE' AND value = 1111"
        )
    )
    preferred = await query(api, {"city": "ATVIE", "preferred": "true"})
    assert [item["value"] for item in preferred] == [1000], preferred

    await session.execute(
        text(
            "UPDATE profiles.observation SET updated_at = '2014-01-01T00:00:00Z' "
            "WHERE city_code = 'ATVIE' AND value = 1000"
        )
    )
    preferred = await query(api, {"city": "ATVIE", "preferred": "true"})
    assert [item["value"] for item in preferred] == [1111], preferred


async def test_preferred_prefers_reliability_over_recency(
    api: Api, session: AsyncSession, vienna_figures: dict[str, int]
) -> None:
    await session.execute(
        text(
            "UPDATE profiles.observation SET updated_at = '2010-01-01T00:00:00Z' "
            "WHERE city_code = 'ATVIE' AND source_id = :register"
        ),
        {"register": vienna_figures["register"]},
    )
    preferred = await query(
        api,
        {
            "city": "ATVIE",
            "period_from": "2019",
            "period_to": "2019",
            "total": "true",
            "preferred": "true",
        },
    )
    assert [(item["value"], item["source"]["id"]) for item in preferred] == [
        (1000, vienna_figures["register"])
    ], preferred


async def test_pages_walk_every_observation_once_in_order(api: Api) -> None:
    await posted(api, *[vienna(period=str(year), value=year) for year in range(1990, 2010)])
    response = await api.get("/v1/observations", params={"limit": 1000})
    assert response.status_code == 200, response.text
    everything = response.json()["items"]
    assert response.json()["next_cursor"] is None, "more than one page of 1000"

    walked = await query(api, {"limit": 3})

    ids = [item["id"] for item in walked]
    assert len(ids) == len(set(ids)), "an observation appeared on two pages"
    assert ids == [item["id"] for item in everything], "pages do not add up to the whole list"
    keys = [(i["city"], i["indicator"], i["period_start"], i["id"]) for i in walked]
    assert keys == sorted(keys), "pages are not in (city, indicator, period, id) order"


async def test_pages_of_preferred_values_walk_every_figure_once(
    api: Api, vienna_figures: dict[str, int]
) -> None:
    whole = await query(api, {"city": "ATVIE", "preferred": "true", "limit": 1000})
    walked = await query(api, {"city": "ATVIE", "preferred": "true", "limit": 2})
    assert [item["id"] for item in walked] == [item["id"] for item in whole], walked
    assert len(whole) == 8, figures(whole)


def _cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not a cursor!", id="not base64"),
        pytest.param(_cursor({"id": 1}), id="not a list"),
        pytest.param(_cursor([]), id="empty key"),
        pytest.param(_cursor([1]), id="too short"),
        pytest.param(_cursor(["ATVIE", "foreign_nationals", "2019", 1]), id="text for a date"),
        pytest.param(
            _cursor(["ATVIE", "foreign_nationals", {"$d": "2019-02-30", "$t": "d"}, 1]),
            id="no such date",
        ),
        pytest.param(
            _cursor(["ATVIE", "foreign_nationals", {"$d": "2019-01-01", "$t": "d"}, True]),
            id="boolean id",
        ),
        pytest.param(
            _cursor(["AT\u0000VIE", "foreign_nationals", {"$d": "2019-01-01", "$t": "d"}, 1]),
            id="NUL in a code",
        ),
        pytest.param(
            _cursor(["ATVIE", "foreign_nationals", {"$d": "2019-01-01T00:00:00", "$t": "dt"}, 1]),
            id="timestamp for a date",
        ),
    ],
)
async def test_tampered_cursor_is_rejected_naming_cursor(api: Api, cursor: str) -> None:
    response = await api.get("/v1/observations", params={"cursor": cursor})
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["cursor"], response.text


async def test_cursor_with_a_number_for_a_date_is_rejected_naming_cursor(api: Api) -> None:
    cursor = _cursor(["ATVIE", "foreign_nationals", {"$d": 5}, 1])
    response = await api.get("/v1/observations", params={"cursor": cursor})
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["cursor"], response.text


async def test_cursor_with_an_id_beyond_bigint_is_rejected_naming_cursor(api: Api) -> None:
    cursor = _cursor(["ATVIE", "foreign_nationals", {"$d": "2019-01-01", "$t": "d"}, 2**63])
    response = await api.get("/v1/observations", params={"cursor": cursor})
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["cursor"], response.text


@pytest.mark.parametrize("limit", ["1001", "0", "-1"])
async def test_limit_outside_its_bounds_is_rejected(api: Api, limit: str) -> None:
    response = await api.get("/v1/observations", params={"limit": limit})
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["limit"], response.text


async def test_limit_at_the_cap_is_accepted(api: Api) -> None:
    cap = api.settings.pagination_max_limit
    response = await api.get("/v1/observations", params={"limit": cap})
    assert response.status_code == 200, f"limit={cap}: {response.text}"


# --- one observation ---------------------------------------------------------------------------


async def test_get_observation_returns_it_with_its_source(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna(value=1000, value_low=950, value_high=1050, obs_status="E"))
    [row] = await vienna_rows(session)

    response = await api.get(f"/v1/observations/{row['id']}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["city"], body["indicator"], body["period"]) == (
        "ATVIE",
        "foreign_nationals",
        "2019",
    ), body
    assert (body["period_start"], body["period_end"]) == ("2019-01-01", "2019-12-31"), body
    assert (body["value"], body["value_low"], body["value_high"]) == (1000, 950, 1050), body
    assert body["obs_status"] == "E", body
    assert body["source"]["title"] == REGISTER["title"], body
    assert body["source"]["reliability_rank"] == 1, body


@pytest.mark.parametrize(
    ("role", "cities"),
    [
        pytest.param(None, (), id="anonymous"),
        pytest.param(Role.editor, ("ATVIE",), id="editor of Vienna"),
    ],
)
async def test_the_single_read_answers_exactly_what_the_list_says_of_an_observation(
    api: Api, role: Role | None, cities: tuple[str, ...]
) -> None:
    """One serialisation of an observation: the list's columns drive both reads."""
    await posted(
        api,
        vienna(value=1000),
        vienna(
            period="2020",
            value=1100,
            value_low=1000,
            value_high=1200,
            obs_status="E",
            note='Estimate, "range" given',
            source=PRESS,
        ),
        # A small count, suppressed for anonymous callers; a large one, and one from a source
        # with neither publisher nor address.
        vienna(period="2021", dimensions={"citizenship": "SY"}, value=3),
        vienna(period="2021", dimensions={"citizenship": "DE"}, value=1200, source=SURVEY),
        vienna(period="2022", value=None, obs_status="M"),
    )
    items = await query(api, {"city": "ATVIE"}, role=role, cities=cities)
    assert len(items) == 5, items
    for item in items:
        response = await api.get(f"/v1/observations/{item['id']}", role=role, cities=cities)
        assert response.status_code == 200, response.text
        assert response.json() == item, f"single read {response.json()} != list item {item}"
    statuses = {item["status"] for item in items}
    assert statuses == ({"shown", "suppressed"} if role is None else {"shown"}), items


async def test_unknown_observation_is_a_404_problem(api: Api) -> None:
    response = await api.get("/v1/observations/987654321")
    problem = assert_problem(response, 404)
    assert problem["type"] == "urn:mc2cm:problem:not-found", problem
    assert problem["instance"] == "/v1/observations/987654321", problem


async def test_withdrawing_an_observation_keeps_a_deleted_history_entry(
    api: Api, session: AsyncSession
) -> None:
    await posted(api, vienna(value=1000))
    [row] = await vienna_rows(session)
    position = await outbox_position(session)

    response = await api.delete(
        f"/v1/observations/{row['id']}",
        params={"reason": "double counted"},
        role=Role.editor,
        cities=("ATVIE",),
    )

    assert response.status_code == 204, response.text
    assert_problem(await api.get(f"/v1/observations/{row['id']}"), 404)
    changes = await history(api, row["id"])
    assert [change["change"] for change in changes] == ["created", "deleted"], changes
    deleted = changes[-1]
    assert (deleted["old_value"], deleted["new_value"]) == (1000, None), deleted
    assert (deleted["changed_by"], deleted["reason"]) == ("editor@test", "double counted"), deleted
    [event] = await outbox_since(session, position)
    assert event["type"] == "observations.changed", event
    assert event["envelope"]["data"]["deleted"] == 1, event


async def test_editor_of_another_city_cannot_withdraw_an_observation(
    api: Api, session: AsyncSession
) -> None:
    await posted(api, vienna())
    [row] = await vienna_rows(session)
    response = await api.delete(
        f"/v1/observations/{row['id']}",
        params={"reason": "not mine"},
        role=Role.editor,
        cities=("PTLIS",),
    )
    assert_problem(response, 403)
    assert len(await vienna_rows(session)) == 1
    assert [change["change"] for change in await history(api, row["id"])] == ["created"]


async def test_withdrawing_needs_a_reason(api: Api, session: AsyncSession) -> None:
    await posted(api, vienna())
    [row] = await vienna_rows(session)
    response = await api.delete(f"/v1/observations/{row['id']}", role=Role.admin)
    assert_problem(response, 422)
    assert error_field_list(response.json()) == ["reason"], response.text


async def test_anonymous_caller_cannot_withdraw_an_observation(
    api: Api, session: AsyncSession
) -> None:
    await posted(api, vienna())
    [row] = await vienna_rows(session)
    response = await api.delete(f"/v1/observations/{row['id']}", params={"reason": "x"})
    assert_problem(response, 401)


async def test_withdrawing_an_unknown_observation_is_404(api: Api) -> None:
    response = await api.delete(
        "/v1/observations/987654321", params={"reason": "gone"}, role=Role.admin
    )
    assert_problem(response, 404)


async def test_totals_and_a_breakdown_filter_together_are_refused(api: Api) -> None:
    response = await api.get("/v1/observations", params={"total": "true", "dimension": "sex=F"})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "dimension", response.json()


async def test_imported_rows_get_ids_in_file_order(api: Api) -> None:
    batch = {
        "observations": [
            observation(city="ATVIE", period=str(year), value=1000 + year)
            for year in (2015, 2011, 2019, 2013)
        ]
    }
    assert (await api.post("/v1/observations", role=Api.ADMIN, json=batch)).status_code == 200

    rows = (await api.get("/v1/observations", params={"city": "ATVIE", "limit": 10})).json()
    by_id = sorted(rows["items"], key=lambda item: item["id"])
    assert [item["period"] for item in by_id] == ["2015", "2011", "2019", "2013"], by_id


async def test_a_dimension_given_twice_in_a_query_is_refused(api: Api) -> None:
    response = await api.get(
        "/v1/observations", params=[("dimension", "sex=F"), ("dimension", "sex=M")]
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "dimension", response.json()


def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A node of an ``EXPLAIN (FORMAT JSON)`` plan and every node below it."""
    return [node, *(n for child in node.get("Plans", []) for n in plan_nodes(child))]


@pytest.mark.parametrize("after", [None, 3000], ids=["first page", "later page"])
async def test_a_page_of_a_long_series_is_one_index_range_scan_cut_at_the_page(
    session: AsyncSession, after: int | None
) -> None:
    """However long the series and large the table, a page reads the series index up to the
    page's last row and only then joins the sources: no sort of the whole series."""
    await session.execute(
        text(
            "INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, "
            "period_end, scope, disaggregation, dimensions, value, source_id) "
            "SELECT 'ATVIE', 'foreign_nationals', y::text, make_date(y, 1, 1), "
            "make_date(y, 12, 31), 'municipality', 'citizenship=C' || c, "
            "jsonb_build_object('citizenship', 'C' || c), c, "
            "(SELECT min(id) FROM profiles.source) "
            "FROM generate_series(1976, 2025) AS y, generate_series(10, 109) AS c"
        )
    )
    await session.execute(text("ANALYZE profiles.observation"))
    cursor = None
    if after is not None:
        row = (
            await session.execute(
                text(
                    "SELECT period_start, id FROM profiles.observation WHERE city_code = 'ATVIE' "
                    "ORDER BY period_start, id OFFSET :after LIMIT 1"
                ),
                {"after": after},
            )
        ).one()
        cursor = ["ATVIE", "foreign_nationals", row.period_start, row.id]
    statement = page_statement(
        ObservationFilter(cities=["ATVIE"], indicators=["foreign_nationals"]),
        PageParams(limit=100, cursor=cursor),
    )
    sql = statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
    plan = (await session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()[0]["Plan"]

    limit = next(node for node in plan_nodes(plan) if node["Node Type"] == "Limit")
    below = plan_nodes(limit)[1:]
    assert [node["Node Type"] for node in below] == ["Index Scan"], below
    # The series index of the one partition holding the city's rows (migration 0014).
    assert below[0]["Index Name"].startswith("ix_observation_series_p"), below[0]
    assert below[0]["Relation Name"].startswith("observation_p"), below[0]
