"""Observations and their value history are partitioned by hash of the city (profiles 0014).

The migration is run up and down on a database holding rows: every row keeps its id and
lands in its city's partition, new ids go on from the old sequence. On the seeded database,
the plans: one city's series reads one partition; the aggregates' read over every city
reads all of them, in parallel when parallel plans pay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.compute import _candidates
from services.profiles_api.observations.repository import ObservationFilter, page_rows_statement
from shared import migrations
from shared.pagination import PageParams
from shared.settings import to_libpq_url
from tests.conftest import create_database, drop_database

BEFORE, PARTITIONED = "0013", "0014"
PARTITIONS_VARIABLE = "MC2CM_OBSERVATION_PARTITIONS"
CITIES = ("AAAAA", "BBBBB", "CCCCC", "DDDDD", "EEEEE", "FFFFF", "GGGGG", "HHHHH")
TABLES = ("observation", "observation_history")

CATALOGUE = """
INSERT INTO profiles.city (code, names, country, region, timezone, membership_status)
SELECT code, jsonb_build_object('en', code), 'ZZ', 'europe', 'UTC', 'confirmed'
FROM unnest($1::text[]) AS code
"""
INDICATORS = """
INSERT INTO profiles.indicator (code, names, theme, unit, value_type, aggregation)
VALUES ('population', '{"en": "Population"}', 'demography', 'persons', 'integer', 'sum'),
       ('share', '{"en": "Share"}', 'demography', 'percent', 'decimal', 'mean')
"""
SOURCE = """
INSERT INTO profiles.source (title, kind, reliability_rank) VALUES ('Census', 'census', 1)
"""
#: Ten years of two indicators for each city; each observation's creation in the history.
OBSERVATIONS = """
INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, period_end,
                                  scope, value, source_id)
SELECT c, i, y::text, make_date(y, 1, 1), make_date(y, 12, 31), 'municipality', y * 10,
       (SELECT min(id) FROM profiles.source)
FROM unnest($1::text[]) AS c, unnest(ARRAY['population', 'share']) AS i,
     generate_series(2016, 2025) AS y
"""
HISTORY = """
INSERT INTO profiles.observation_history (observation_id, city_code, change, new, changed_by)
SELECT id, city_code, 'created', jsonb_build_object('value', value), 'test'
FROM profiles.observation ORDER BY id
"""
NEW_OBSERVATION = """
INSERT INTO profiles.observation (city_code, indicator_code, period, period_start, period_end,
                                  scope, value, source_id)
VALUES ($1, 'population', '2026', '2026-01-01', '2026-12-31', 'municipality', 1,
        (SELECT min(id) FROM profiles.source))
RETURNING id
"""
NEW_CHANGE = """
INSERT INTO profiles.observation_history (observation_id, city_code, change, changed_by)
VALUES ($1, $2, 'created', 'test') RETURNING id
"""


@pytest.fixture
async def fresh_database(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    url = await create_database(server_urls[0], "mc2cm_partitions")
    try:
        yield url
    finally:
        await drop_database(url)


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq_url(url))


async def _rows(connection: asyncpg.Connection, table: str) -> dict[int, tuple[Any, ...]]:
    """Every row of ``profiles.<table>`` by id, all columns but the id."""
    records = await connection.fetch(f"SELECT * FROM profiles.{table} ORDER BY id")
    return {record["id"]: tuple(v for k, v in record.items() if k != "id") for record in records}


async def _placement(connection: asyncpg.Connection, table: str) -> list[asyncpg.Record]:
    """Each row's id, city, the relation holding it, and the partition its city hashes to."""
    return list(
        await connection.fetch(
            f"""
            SELECT o.id, o.city_code, o.tableoid::regclass::text AS held_in,
                   (SELECT p.oid::regclass::text FROM pg_inherits i
                      JOIN pg_class p ON p.oid = i.inhrelid
                     WHERE i.inhparent = 'profiles.{table}'::regclass
                       AND satisfies_hash_partition(
                               'profiles.{table}'::regclass, $1,
                               CAST(substring(pg_get_expr(p.relpartbound, p.oid)
                                              FROM 'remainder (\\d+)') AS int),
                               o.city_code)) AS hashed_to
            FROM profiles.{table} o ORDER BY o.id
            """,
            await _partition_count(connection, table),
        )
    )


async def _partition_count(connection: asyncpg.Connection, table: str) -> int:
    count: int = await connection.fetchval(
        f"SELECT count(*) FROM pg_inherits WHERE inhparent = 'profiles.{table}'::regclass"
    )
    return count


async def _kind(connection: asyncpg.Connection, table: str) -> str:
    kind: str = await connection.fetchval(
        f"SELECT relkind::text FROM pg_class WHERE oid = 'profiles.{table}'::regclass"
    )
    return kind


async def test_partitioning_keeps_every_row_and_id_up_and_down(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrations.upgrade(fresh_database, "profiles", BEFORE)
    connection = await _connect(fresh_database)
    try:
        await connection.execute(CATALOGUE, list(CITIES))
        await connection.execute(INDICATORS)
        await connection.execute(SOURCE)
        await connection.execute(OBSERVATIONS, list(CITIES))
        await connection.execute(HISTORY)
        # The newest ids are gone: new rows must not take them again.
        await connection.execute(
            "DELETE FROM profiles.observation WHERE id > (SELECT max(id) - 3 "
            "FROM profiles.observation)"
        )
        before = {table: await _rows(connection, table) for table in TABLES}
        last_ids = {
            table: await connection.fetchval(f"SELECT last_value FROM profiles.{table}_id_seq")
            for table in TABLES
        }
    finally:
        await connection.close()
    assert len(before["observation"]) == len(CITIES) * 2 * 10 - 3, len(before["observation"])

    monkeypatch.setenv(PARTITIONS_VARIABLE, "4")
    await migrations.upgrade(fresh_database, "profiles", PARTITIONED)

    connection = await _connect(fresh_database)
    try:
        for table in TABLES:
            assert await _kind(connection, table) == "p", table
            assert await _partition_count(connection, table) == 4, table
            assert await _rows(connection, table) == before[table], table
            placement = await _placement(connection, table)
            misplaced = [row for row in placement if row["held_in"] != row["hashed_to"]]
            assert not misplaced, misplaced
            held = {row["held_in"] for row in placement}
            assert all(name.startswith(f"profiles.{table}_p0") for name in held), held
            assert len(held) > 1, f"{len(CITIES)} cities all in one partition: {held}"
            by_city: dict[str, set[str]] = {}
            for row in placement:
                by_city.setdefault(row["city_code"], set()).add(row["held_in"])
            assert all(len(places) == 1 for places in by_city.values()), by_city
        observation_id = await connection.fetchval(NEW_OBSERVATION, "CCCCC")
        change_id = await connection.fetchval(NEW_CHANGE, observation_id, "CCCCC")
        assert observation_id == last_ids["observation"] + 1, (observation_id, last_ids)
        assert change_id == last_ids["observation_history"] + 1, (change_id, last_ids)
        after = {table: await _rows(connection, table) for table in TABLES}
    finally:
        await connection.close()

    await migrations.downgrade(fresh_database, "profiles", BEFORE)

    connection = await _connect(fresh_database)
    try:
        for table in TABLES:
            assert await _kind(connection, table) == "r", table
            assert await _partition_count(connection, table) == 0, table
            assert await _rows(connection, table) == after[table], table
        next_id = await connection.fetchval(NEW_OBSERVATION.replace("'2026'", "'2027'"), "DDDDD")
        assert next_id == observation_id + 1, (next_id, observation_id)
    finally:
        await connection.close()


@pytest.mark.parametrize("count", ["0", "1025", "sixteen"])
async def test_a_partition_count_outside_1_to_1024_is_refused_and_changes_nothing(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch, count: str
) -> None:
    await migrations.upgrade(fresh_database, "profiles", BEFORE)
    monkeypatch.setenv(PARTITIONS_VARIABLE, count)

    with pytest.raises(ValueError, match=PARTITIONS_VARIABLE):
        await migrations.upgrade(fresh_database, "profiles", PARTITIONED)

    connection = await _connect(fresh_database)
    try:
        assert await _kind(connection, "observation") == "r"
        assert await connection.fetchval("SELECT version_num FROM profiles.alembic_version") == (
            BEFORE
        )
    finally:
        await connection.close()


# Plans, on the seeded database (migrated with the default count).


def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A node of an ``EXPLAIN (FORMAT JSON)`` plan and every node below it."""
    return [node, *(n for child in node.get("Plans", []) for n in plan_nodes(child))]


async def _plan(session: AsyncSession, sql: str) -> dict[str, Any]:
    plan: dict[str, Any] = (
        await session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))
    ).scalar_one()[0]["Plan"]
    return plan


async def _partitions(session: AsyncSession, table: str) -> set[str]:
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = 'profiles.{table}'::regclass"
        )
    )
    return set(rows)


def _read(plan: dict[str, Any], partitions: set[str]) -> list[str]:
    """The partitions the plan scans, once per scan."""
    return [
        node["Relation Name"]
        for node in plan_nodes(plan)
        if node.get("Relation Name") in partitions
    ]


async def test_a_city_series_reads_the_city_partition_alone(session: AsyncSession) -> None:
    """The list the API runs for ``?city=X&indicator=Y`` (the demo data's longest series):
    planned with its values, and as a generic prepared plan (pruned as it starts)."""
    partitions = await _partitions(session, "observation")
    series = (
        await session.execute(
            text(
                "SELECT city_code, indicator_code, min(tableoid::regclass::text) AS home "
                "FROM profiles.observation GROUP BY city_code, indicator_code "
                "ORDER BY count(*) DESC, city_code, indicator_code LIMIT 1"
            )
        )
    ).one()
    home = series.home.removeprefix("profiles.")
    assert len(partitions) >= 2 and home in partitions, (partitions, home)
    statement = page_rows_statement(
        ObservationFilter(cities=[series.city_code], indicators=[series.indicator_code]),
        PageParams(limit=100, cursor=None),
    )
    assert session.bind is not None
    sql = str(
        statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
    )

    plan = await _plan(session, sql)

    assert _read(plan, partitions) == [home], plan

    # A prepared statement's generic plan cannot prune while planning: the Append it keeps
    # drops every other partition as it starts.
    await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    generic = sql.replace(f"'{series.city_code}'", "$1")
    await session.execute(text(f"PREPARE series (varchar) AS {generic}"))
    try:
        plan = await _plan(session, f"EXECUTE series ('{series.city_code}')")
    finally:
        await session.execute(text("DEALLOCATE series"))
    # An Append, or a Merge Append when the plan reads the partitions in index order.
    appends = [node for node in plan_nodes(plan) if node["Node Type"] in {"Append", "Merge Append"}]
    assert len(appends) == 1, plan
    assert appends[0]["Subplans Removed"] == len(partitions) - 1, appends[0]
    assert _read(plan, partitions) == [home], plan


async def test_the_aggregates_read_of_every_city_scans_all_partitions_in_parallel(
    session: AsyncSession,
) -> None:
    """The published values a recomputation of an indicator's aggregates reads (every city's),
    grouped as the aggregates are: with parallel plans made cheap for a small table, the
    partitions are scanned by parallel workers under one Gather. The read of one indicator
    may instead take its rows in preference order from ``ix_observation_preference`` (a
    Merge Append, not parallel), whichever the planner finds cheaper for the table's figures
    at the time; scans of whole partitions, as a full recompute at scale makes, are what this
    pins down."""
    partitions = await _partitions(session, "observation")
    candidates = _candidates("code").replace(":code", "'foreign_nationals'")
    sql = f"""
        SELECT e.period, e.scope, e.disaggregation, sum(e.value), min(e.value), count(*)
        FROM ({candidates}) e
        GROUP BY e.period, e.scope, e.disaggregation
    """
    for setting in (
        "parallel_setup_cost = 0",
        "parallel_tuple_cost = 0",
        "min_parallel_table_scan_size = 0",
        "min_parallel_index_scan_size = 0",
        "max_parallel_workers_per_gather = 2",
        "enable_indexscan = off",
        "enable_indexonlyscan = off",
        "enable_bitmapscan = off",
    ):
        await session.execute(text(f"SET LOCAL {setting}"))

    plan = await _plan(session, sql)

    nodes = plan_nodes(plan)
    assert sorted(_read(plan, partitions)) == sorted(partitions), plan
    assert any(node["Node Type"] in {"Gather", "Gather Merge"} for node in nodes), plan
    assert any(node["Node Type"] == "Append" and node.get("Parallel Aware") for node in nodes), plan
