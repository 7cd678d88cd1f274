"""Aggregates kept fresh cheaply: each observation keeps its source's rank, so an index gives
an indicator's values in the order the preferred one is chosen (the plan shown here has no
sort), and a write's recomputation covers only the periods it touched.

The computation runs through the functions the jobs call, inside the test's transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import Catalogue
from services.profiles_api.aggregates.compute import (
    PREFERENCE_INDEX,
    preferred_published,
    recompute_indicator,
)
from services.profiles_api.aggregates.repository import AggregationRequestRepository
from shared.auth import Role
from tests.factories import Api, csv_file

INDICATOR = "foreign_nationals"
REGISTER = (
    "Population register (freshness test),National statistics office,"
    "https://stats.example.org/freshness,register"
)
PRESS = "Newspaper estimate (freshness test),Daily News,https://news.example.org/freshness,press"
CITIES = {
    "ESBCN": ("Barcelona", "ES", "europe", "Europe/Madrid"),
    "TNSUS": ("Sousse", "TN", "south_mediterranean", "Africa/Tunis"),
}


async def add_cities(api: Api) -> None:
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


async def import_rows(api: Api, *rows: tuple[str, str, float, str]) -> None:
    """Import ``(city, period, value, source)`` rows of the indicator's totals."""
    lines = [
        f"{city},{INDICATOR},{period},municipality,,{value},,,A,{source},"
        for city, period, value, source in rows
    ]
    response = await api.post(
        "/v1/imports",
        content=csv_file(*lines),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )
    assert response.status_code == 200, response.text


async def recompute(session: AsyncSession, periods: list[str] | None = None) -> None:
    definition = (await Catalogue.load(session)).get(INDICATOR)
    assert definition is not None
    await recompute_indicator(session, definition, periods=periods)


async def network_total(session: AsyncSession, period: str) -> float | None:
    value = await session.scalar(
        text(
            "SELECT value FROM profiles.aggregate WHERE indicator_code = :code "
            "AND period = :period AND group_kind = 'network' AND disaggregation = ''"
        ),
        {"code": INDICATOR, "period": period},
    )
    return None if value is None else float(value)


async def rank_source(api: Api, source_id: int, rank: int) -> None:
    current = await api.get(f"/v1/sources/{source_id}")
    response = await api.patch(
        f"/v1/sources/{source_id}",
        role=Api.ADMIN,
        headers={"If-Match": current.headers["ETag"]},
        json={"reliability_rank": rank},
    )
    assert response.status_code == 200, response.text


async def ranks(session: AsyncSession, city: str) -> set[tuple[int, int]]:
    """(observation's copy, source's rank) of the city's observations of the indicator."""
    rows = await session.execute(
        text(
            "SELECT o.reliability_rank, s.reliability_rank FROM profiles.observation o "
            "JOIN profiles.source s ON s.id = o.source_id "
            "WHERE o.city_code = :city AND o.indicator_code = :code"
        ),
        {"city": city, "code": INDICATOR},
    )
    return {(row[0], row[1]) for row in rows}


async def test_a_change_of_a_sources_rank_reaches_its_observations_and_the_preferred_value(
    api: Api, session: AsyncSession
) -> None:
    await add_cities(api)
    await import_rows(api, ("ESBCN", "1988", 1000, REGISTER), ("ESBCN", "1988", 1500, PRESS))
    copies = await ranks(session, "ESBCN")
    assert all(copy == rank for copy, rank in copies) and len(copies) == 2, copies
    await recompute(session)
    assert await network_total(session, "1988") == 1000, "the register is preferred"

    register_id = await session.scalar(
        text("SELECT id FROM profiles.source WHERE title LIKE 'Population register (freshness%'")
    )
    before = await session.scalar(
        text("SELECT updated_at FROM profiles.observation WHERE source_id = :id"),
        {"id": register_id},
    )
    press_id = await session.scalar(
        text("SELECT id FROM profiles.source WHERE title LIKE 'Newspaper estimate (freshness%'")
    )
    await rank_source(api, register_id, 2)
    await rank_source(api, press_id, 1)
    copies = await ranks(session, "ESBCN")
    assert all(copy == rank for copy, rank in copies) and {(2, 2), (1, 1)} == copies, copies
    after = await session.scalar(
        text("SELECT updated_at FROM profiles.observation WHERE source_id = :id"),
        {"id": register_id},
    )
    assert after == before, "a change of rank is no change of the value"
    await recompute(session)
    assert await network_total(session, "1988") == 1500, "the press is now the more reliable"


async def test_a_row_inserted_without_its_rank_takes_its_sources(
    api: Api, session: AsyncSession
) -> None:
    await add_cities(api)
    await import_rows(api, ("TNSUS", "1987", 10, REGISTER))
    await session.execute(
        text(
            "INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, "
            "period_end, scope, value, source_id) "
            "SELECT 'TNSUS', :code, '2020', DATE '2020-01-01', DATE '2020-12-31', "
            "'municipality', 9, source_id FROM profiles.observation "
            "WHERE city_code = 'TNSUS' AND period = '1987'"
        ),
        {"code": INDICATOR},
    )
    copies = await ranks(session, "TNSUS")
    assert len(copies) == 1 and all(copy == rank for copy, rank in copies), copies


async def test_the_preferred_values_come_from_the_index_without_a_sort(
    api: Api, session: AsyncSession
) -> None:
    """The plan of choosing each city's preferred value of the period a write touched (what
    the recomputation after it reads): the partitions' preference indexes merged in order,
    then ``Unique``; no ``Sort`` anywhere. (At a million values the recomputation of every
    period reads them so as well: docs/decisions.md, "Performance: P3 aggregates".)"""
    await add_cities(api)
    await import_rows(api, ("ESBCN", "1988", 1, REGISTER))
    # An indicator's values of many cities (so in every partition) over many years: enough
    # for the planner to weigh the index against a scan and a sort, as it does at scale.
    await session.execute(
        text(
            "INSERT INTO profiles.city (code, names, country, region, timezone, "
            "membership_status) SELECT 'ZF' || lpad(n::text, 3, '0'), "
            "jsonb_build_object('en', 'City ' || n), 'ZZ', 'europe', 'UTC', 'expected' "
            "FROM generate_series(1, 100) AS n"
        )
    )
    await session.execute(
        text(
            "INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, "
            "period_end, scope, disaggregation, dimensions, value, source_id, reliability_rank) "
            "SELECT c.code, :code, y::text, make_date(y, 1, 1), make_date(y, 12, 31), "
            "'municipality', 'group=g' || g, jsonb_build_object('group', 'g' || g), y, s.id, "
            "s.reliability_rank "
            "FROM generate_series(1800, 1899) AS y, profiles.city c, "
            "generate_series(1, 10) AS g, profiles.source s "
            "WHERE c.code LIKE 'ZF%' AND s.title LIKE 'Population register (freshness%'"
        ),
        {"code": INDICATOR},
    )
    # No ANALYZE: its figures of the table would outlive the test's transaction (pg_class).
    plan = "\n".join(
        await session.scalars(
            text(f"EXPLAIN (COSTS OFF) {preferred_published('code', ['1850'])}"),
            {"code": INDICATOR, "periods": ["1850"]},
        )
    )
    print(plan)  # noqa: T201 - shown with -s: the plan this test is about
    assert f"Index Scan using {PREFERENCE_INDEX}" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
    assert plan.lstrip().startswith("Unique"), plan


async def test_a_recomputation_of_some_periods_leaves_the_others_as_they_were(
    api: Api, session: AsyncSession
) -> None:
    await add_cities(api)
    await import_rows(
        api,
        ("ESBCN", "1987", 100, REGISTER),
        ("TNSUS", "1987", 10, REGISTER),
        ("ESBCN", "1988", 200, REGISTER),
        ("TNSUS", "1988", 20, REGISTER),
    )
    await recompute(session)
    assert (await network_total(session, "1987"), await network_total(session, "1988")) == (
        110,
        220,
    )
    # Values changed behind the recomputation's back, in both periods.
    await session.execute(
        text(
            "UPDATE profiles.observation SET value = value * 2 "
            "WHERE indicator_code = :code AND city_code IN ('ESBCN', 'TNSUS')"
        ),
        {"code": INDICATOR},
    )
    await recompute(session, periods=["1988"])
    assert await network_total(session, "1988") == 440, "the period asked for is recomputed"
    assert await network_total(session, "1987") == 110, "the other period is left alone"
    await recompute(session)
    assert await network_total(session, "1987") == 220, "a full recomputation takes all"


async def test_a_burst_of_requests_gathers_their_periods_and_cities(
    session: AsyncSession,
) -> None:
    requests = AggregationRequestRepository.from_session(session)
    debounce = timedelta(seconds=1)
    await requests.request(
        ["freshness_a", "freshness_b"], debounce=debounce, periods=["1988"], cities=["TNSUS"]
    )
    await requests.request(
        ["freshness_a"], debounce=debounce, periods=["1987", "1988"], cities=["ESBCN"]
    )
    await requests.request(["freshness_b"], debounce=debounce)
    first = await requests.claim_any("freshness_a")
    second = await requests.claim_any("freshness_b")
    assert first is not None and first.periods == ["1987", "1988"], first
    assert first.cities == ["ESBCN", "TNSUS"], first
    assert second is not None and second.periods is None, "a request of every period wins"
    assert second.cities is None, "a request of every city wins"

    await requests.keep(
        "freshness_a", requested_at=first.requested_at, due_at=first.due_at, periods=["1986"]
    )
    await requests.request(["freshness_a"], debounce=debounce, periods=["1989"])
    kept = await requests.claim_any("freshness_a")
    assert kept is not None and kept.periods == ["1986", "1989"], kept
    assert kept.requested_at == first.requested_at, "the earliest waiting change is kept"


@pytest.mark.parametrize("periods", [None, ["1987"]])
async def test_a_recomputation_writes_the_same_rows_whatever_the_periods_asked(
    api: Api, session: AsyncSession, periods: list[str] | None
) -> None:
    await add_cities(api)
    await import_rows(
        api,
        ("ESBCN", "1987", 100, REGISTER),
        ("ESBCN", "1987", 150, PRESS),
        ("TNSUS", "1987", 10, PRESS),
    )
    await recompute(session)
    everything = await session.execute(
        text(
            "SELECT period, group_kind, region, value, cities FROM profiles.aggregate "
            "WHERE indicator_code = :code AND period = '1987' ORDER BY 1, 2, 3"
        ),
        {"code": INDICATOR},
    )
    expected = [tuple(row) for row in everything]
    await recompute(session, periods=periods)
    again = await session.execute(
        text(
            "SELECT period, group_kind, region, value, cities FROM profiles.aggregate "
            "WHERE indicator_code = :code AND period = '1987' ORDER BY 1, 2, 3"
        ),
        {"code": INDICATOR},
    )
    assert [tuple(row) for row in again] == expected
    assert ("1987", "network", "", 110.0, ["ESBCN", "TNSUS"]) in expected, expected
