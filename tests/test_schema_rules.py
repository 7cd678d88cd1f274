"""The schemas are ready to be distributed by city: every table of the migrated database has a
class (distributed, reference, local) and the keys and foreign keys follow the rules that need
(``shared/distribution.py``); status and kind columns refuse values outside their vocabularies.

The checker reads ``pg_catalog``; each rule is also broken on purpose, in a schema of the
test's own that its transaction rolls back, to show that the checker reports it.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import AnyUrl
from sqlalchemy import MetaData, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.dialogue_api.metadata import metadata as dialogue_metadata
from services.profiles_api.metadata import metadata as profiles_metadata
from services.profiles_api.sections.models import Section
from services.profiles_api.sections.schemas import SectionStatus
from shared.auth import Role
from shared.columns import StrEnumColumn, apply_changes, column_values, stored
from shared.distribution import (
    DISTRIBUTED,
    LOCAL,
    REFERENCE,
    Distribution,
    classes,
    violations,
)
from tests.factories import Api, observation

METADATA: dict[str, MetaData] = {"profiles": profiles_metadata, "dialogue": dialogue_metadata}
SCRATCH = "schema_rules_scratch"


@pytest.mark.parametrize("schema", sorted(METADATA))
async def test_every_table_is_classified_and_follows_the_distribution_rules(
    connection: AsyncConnection, schema: str
) -> None:
    found = await violations(connection, schema, classes(METADATA[schema]))

    assert found == [], "\n".join(str(violation) for violation in found)


def test_the_classes_are_those_docs_decisions_records() -> None:
    """The per-city tables are the distributed ones; the catalogues reference tables."""
    profiles = classes(profiles_metadata)
    dialogue = classes(dialogue_metadata)

    distributed = {name for name, kind in profiles.items() if kind is DISTRIBUTED}
    assert distributed == {
        "assessment",
        "assessment_answer",
        "assessment_history",
        "assessment_score",
        "observation",
        "observation_history",
        "observations_version",
        "section",
        "challenge",
        "derived_value",
        "coverage",
        "edition",
        "edition_report",
    }, distributed
    catalogues = ("city", "indicator", "source", "aggregate", "assessment_framework")
    catalogues += ("assessment_framework_item", "assessment_framework_option")
    assert {profiles[name] for name in catalogues} == {REFERENCE}
    assert not [name for name, kind in dialogue.items() if kind is DISTRIBUTED], dialogue
    assert dialogue["indicator_ref"] is REFERENCE and dialogue["city_ref"] is REFERENCE
    for schema in (profiles, dialogue):
        for name in ("outbox", "idempotency_key", "audit_log", "alembic_version"):
            assert schema[name] is LOCAL, (name, schema[name])


#: A scratch schema that follows every rule: a catalogue, a distributed table and one
#: co-located with it, and a local table pointing at the catalogue.
_GOOD = f"""
CREATE SCHEMA {SCRATCH};
CREATE TABLE {SCRATCH}.city (code varchar(5) PRIMARY KEY);
CREATE TABLE {SCRATCH}.item (
    id bigint, city_code varchar(5) NOT NULL REFERENCES {SCRATCH}.city (code),
    name text, PRIMARY KEY (id, city_code), UNIQUE (city_code, name));
CREATE TABLE {SCRATCH}.part (
    id bigint, city_code varchar(5) NOT NULL, item_id bigint NOT NULL,
    PRIMARY KEY (id, city_code),
    FOREIGN KEY (item_id, city_code) REFERENCES {SCRATCH}.item (id, city_code)
        ON DELETE CASCADE);
CREATE TABLE {SCRATCH}.log (id bigint PRIMARY KEY, city varchar(5) REFERENCES {SCRATCH}.city);
"""
_GOOD_CLASSES: dict[str, Distribution | None] = {
    "city": REFERENCE,
    "item": DISTRIBUTED,
    "part": DISTRIBUTED,
    "log": LOCAL,
}


async def _scratch(connection: AsyncConnection, *statements: str) -> None:
    for statement in (_GOOD + "\n".join(statements)).split(";\n"):
        if statement.strip():
            await connection.execute(text(statement))


async def test_a_schema_that_follows_the_rules_passes_the_check(
    connection: AsyncConnection,
) -> None:
    await _scratch(connection)

    assert await violations(connection, SCRATCH, _GOOD_CLASSES) == []


#: (what is broken, the statements that break it, classes besides the good ones, the rule
#: the checker must name for the table).
BROKEN: list[tuple[str, str, dict[str, Distribution | None], tuple[str, str]]] = [
    (
        "unclassified",
        f"CREATE TABLE {SCRATCH}.stray (id bigint PRIMARY KEY);",
        {},
        ("stray", "unclassified"),
    ),
    (
        "classified-but-missing",
        "",
        {"gone": REFERENCE},
        ("gone", "unknown table"),
    ),
    (
        "primary-key-without-city",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint PRIMARY KEY,
            city_code varchar(5) NOT NULL);""",
        {"bad": DISTRIBUTED},
        ("bad", "primary key without city_code"),
    ),
    (
        "unique-without-city",
        f"ALTER TABLE {SCRATCH}.item ADD CONSTRAINT uq_name UNIQUE (name);",
        {},
        ("item", "unique constraint without city_code"),
    ),
    (
        "unique-index-without-city",
        f"CREATE UNIQUE INDEX uq_lower_name ON {SCRATCH}.item (lower(name));",
        {},
        ("item", "unique index without city_code"),
    ),
    (
        "no-city-column",
        f"CREATE TABLE {SCRATCH}.bad (id bigint PRIMARY KEY);",
        {"bad": DISTRIBUTED},
        ("bad", "distribution column"),
    ),
    (
        "nullable-city",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint, city_code varchar(5),
            UNIQUE (id, city_code));""",
        {"bad": DISTRIBUTED},
        ("bad", "distribution column"),
    ),
    (
        "reference-to-distributed",
        f"""CREATE TABLE {SCRATCH}.bad (code text PRIMARY KEY, item_id bigint,
            city_code varchar(5), FOREIGN KEY (item_id, city_code)
            REFERENCES {SCRATCH}.item (id, city_code));""",
        {"bad": REFERENCE},
        ("bad", "foreign key from reference to distributed"),
    ),
    (
        "distributed-to-local",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint, city_code varchar(5) NOT NULL,
            log_id bigint REFERENCES {SCRATCH}.log, PRIMARY KEY (id, city_code));""",
        {"bad": DISTRIBUTED},
        ("bad", "foreign key from distributed to local"),
    ),
    (
        "local-to-distributed",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint PRIMARY KEY, item_id bigint,
            city_code varchar(5), FOREIGN KEY (item_id, city_code)
            REFERENCES {SCRATCH}.item (id, city_code));""",
        {"bad": LOCAL},
        ("bad", "foreign key from local to distributed"),
    ),
    (
        "distributed-not-co-located",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint, city_code varchar(5) NOT NULL,
            item_id bigint, item_city varchar(5), PRIMARY KEY (id, city_code),
            FOREIGN KEY (item_id, item_city) REFERENCES {SCRATCH}.item (id, city_code));""",
        {"bad": DISTRIBUTED},
        ("bad", "foreign key between distributed tables not on city_code"),
    ),
    (
        "partition-unique-index-without-city",
        f"""CREATE TABLE {SCRATCH}.reading (id bigint, city_code varchar(5) NOT NULL
            REFERENCES {SCRATCH}.city (code), PRIMARY KEY (id, city_code))
            PARTITION BY HASH (city_code);
        CREATE TABLE {SCRATCH}.reading_p0 PARTITION OF {SCRATCH}.reading
            FOR VALUES WITH (MODULUS 2, REMAINDER 0);
        CREATE TABLE {SCRATCH}.reading_p1 PARTITION OF {SCRATCH}.reading
            FOR VALUES WITH (MODULUS 2, REMAINDER 1);
        CREATE UNIQUE INDEX uq_reading_p1_id ON {SCRATCH}.reading_p1 (id);""",
        {"reading": DISTRIBUTED},
        ("reading", "unique index without city_code"),
    ),
    (
        "sets-city-to-null",
        f"""CREATE TABLE {SCRATCH}.bad (id bigint, city_code varchar(5),
            PRIMARY KEY (id, city_code),
            FOREIGN KEY (city_code) REFERENCES {SCRATCH}.city ON DELETE SET NULL);""",
        {"bad": DISTRIBUTED},
        ("bad", "foreign key whose SET NULL would change city_code"),
    ),
]


@pytest.mark.parametrize(
    ("statements", "extra", "expected"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
async def test_the_check_reports_a_rule_broken_on_purpose(
    connection: AsyncConnection,
    statements: str,
    extra: dict[str, Distribution | None],
    expected: tuple[str, str],
) -> None:
    await _scratch(connection, statements)

    found = await violations(connection, SCRATCH, {**_GOOD_CLASSES, **extra})

    assert expected in {(v.table, v.rule) for v in found}, "\n".join(map(str, found))
    assert {v.table for v in found} == {expected[0]}, "\n".join(map(str, found))


# Status and kind columns.


def _enum_columns() -> list[tuple[str, str, str, list[str]]]:
    return [
        (schema, table.name, column.name, column.type.values)
        for schema, metadata in METADATA.items()
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, StrEnumColumn)
    ]


async def test_every_enumeration_column_has_the_check_of_its_values(
    connection: AsyncConnection,
) -> None:
    """The migrations' CHECKs name the values the models' enumerations do (alembic's drift
    check does not compare CHECK constraints)."""
    rows = await connection.execute(
        text(
            "SELECT n.nspname AS schema, con.conname AS name, "
            "pg_get_constraintdef(con.oid) AS definition FROM pg_constraint con "
            "JOIN pg_class c ON c.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE con.contype = 'c' AND n.nspname IN ('profiles', 'dialogue')"
        )
    )
    checks = {(row.schema, row.name): row.definition for row in rows}
    columns = _enum_columns()

    assert len(columns) >= 30, columns
    for schema, table, column, values in columns:
        definition = checks.get((schema, f"ck_{table}_{column}"))
        assert definition is not None, f"{schema}.{table}.{column} has no check"
        assert re.findall(r"'([^']*)'", definition) == values, (table, column, definition)


async def test_a_status_outside_its_vocabulary_is_refused_by_the_database(
    session: AsyncSession,
) -> None:
    section_id = await session.scalar(select(Section.id).limit(1))
    assert section_id is not None, "the demo data has sections"

    with pytest.raises(IntegrityError, match="ck_section_status"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE profiles.section SET status = 'archived' WHERE id = :id"),
                {"id": section_id},
            )


async def test_an_enumeration_column_reads_back_its_members(session: AsyncSession) -> None:
    section_id = await session.scalar(select(Section.id).limit(1))
    found = await session.get(Section, section_id)

    assert found is not None
    assert type(found.status) is SectionStatus, repr(found.status)


class Colour(enum.StrEnum):
    red = "red"


class Row:
    colour: object = None
    city_code: object = None
    starts_at: object = None


def test_body_fields_become_column_values() -> None:
    paris = timezone(timedelta(hours=1))
    fields = {
        "colour": Colour.red,
        "city": "PTLIS",
        "starts_at": datetime(2026, 12, 5, 10, tzinfo=paris),
        "themes": [Colour.red],
        "url": AnyUrl("https://example.org"),
        "due_on": date(2026, 12, 5),
        "title": {"en": "x"},
        "capacity": 3,
        "note": None,
    }

    values = column_values(fields, renamed={"city": "city_code"})

    assert values == {
        "colour": "red",
        "city_code": "PTLIS",
        "starts_at": datetime(2026, 12, 5, 9, tzinfo=UTC),
        "themes": ["red"],
        "url": "https://example.org/",
        "due_on": date(2026, 12, 5),
        "title": {"en": "x"},
        "capacity": 3,
        "note": None,
    }, values
    assert type(values["colour"]) is str and values["starts_at"].tzinfo is UTC
    row = Row()
    apply_changes(row, {"colour": Colour.red, "city": "ESMAD"}, renamed={"city": "city_code"})
    assert (row.colour, row.city_code) == ("red", "ESMAD")
    assert stored(None) is None


# The value history keeps its observation's city.


async def test_the_history_of_an_observation_keeps_its_city_also_once_withdrawn(
    api: Api, session: AsyncSession
) -> None:
    response = await api.post(
        "/v1/observations",
        json={"observations": [observation(city="ATVIE", period="2019", value=1000)]},
        role=Role.admin,
    )
    assert response.status_code == 200, response.text
    observation_id = await session.scalar(
        text(
            "SELECT id FROM profiles.observation WHERE city_code = 'ATVIE' AND period = '2019' "
            "ORDER BY id DESC LIMIT 1"
        )
    )
    deleted = await api.delete(
        f"/v1/observations/{observation_id}", params={"reason": "test"}, role=Role.admin
    )
    assert deleted.status_code == 204, deleted.text

    rows = await session.execute(
        text(
            "SELECT change, city_code FROM profiles.observation_history "
            "WHERE observation_id = :id ORDER BY id"
        ),
        {"id": observation_id},
    )

    assert [tuple(row) for row in rows] == [("created", "ATVIE"), ("deleted", "ATVIE")]
    mismatched = await session.scalar(
        text(
            "SELECT count(*) FROM profiles.observation_history h "
            "JOIN profiles.observation o ON o.id = h.observation_id "
            "WHERE h.city_code <> o.city_code"
        )
    )
    assert mismatched == 0
