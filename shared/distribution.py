"""Where each table goes when the schemas are distributed by city (Citus), and the rules that
make that possible, checked against the live schema.

Every table is one of three classes (docs/decisions.md, "Distribution classes of tables"):

- **distributed**: sharded by ``city_code``, the rows of one city together;
- **reference**: a catalogue, copied whole to every node;
- **local**: bookkeeping that stays on the coordinator (outbox, keys, logs).

A table says its class in its ``info`` (``__table_args__ = (..., distribution(REFERENCE))``
or ``Table(..., **distribution(LOCAL))``); alembic's version table is local in every schema.

``violations`` reads a schema from ``pg_catalog`` and names each table no class covers and
each rule broken:

- a distributed table has a ``city_code`` column that is never null, and every primary key,
  unique constraint, unique index and exclusion constraint of it includes that column;
- a foreign key from a distributed table goes to a reference table, or to a distributed table
  with ``city_code`` matched to ``city_code`` (the rows live on the same node); it never sets
  ``city_code`` to null or its default (a row cannot move between nodes that way);
- a foreign key from a reference table goes to a reference table (a copy on every node
  cannot depend on rows that are not);
- a foreign key from a local table goes to a local or a reference table.

A partition is checked as the table it is a partition of (``observation_p03`` as
``observation``): its keys, indexes and foreign keys are the table's, reported under its name.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import declared_attr


class Distribution(enum.StrEnum):
    distributed = "distributed"
    reference = "reference"
    local = "local"


DISTRIBUTED: Final = Distribution.distributed
REFERENCE: Final = Distribution.reference
LOCAL: Final = Distribution.local

#: The column distributed tables are sharded by.
DISTRIBUTION_COLUMN: Final = "city_code"
#: alembic's version table, in every schema (``version_table_schema``): local, since
#: migrations run on the coordinator.
VERSION_TABLE: Final = "alembic_version"
_INFO_KEY: Final = "distribution"


def distribution(kind: Distribution) -> dict[str, Any]:
    """The table keyword arguments that give a table its class: the last item of a model's
    ``__table_args__``, or ``**distribution(...)`` in a ``Table(...)``."""
    return {"info": {_INFO_KEY: kind}}


def classes(metadata: MetaData) -> dict[str, Distribution | None]:
    """Each table of ``metadata`` (one schema's) by name, with its class (``None``: it says
    none), and the version table."""
    found: dict[str, Distribution | None] = {VERSION_TABLE: LOCAL}
    for table in metadata.tables.values():
        kind = table.info.get(_INFO_KEY)
        found[table.name] = Distribution(kind) if kind is not None else None
    return found


@dataclass(frozen=True, order=True)
class Violation:
    """A rule a table of the schema breaks."""

    table: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.rule}: {self.detail}"


_TABLES = """
SELECT c.relname AS name,
       (SELECT NOT a.attnotnull FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attname = :column AND NOT a.attisdropped) AS nullable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

#: Each partition of the schema, with the table at the root of its partitioning.
_PARTITIONS = """
SELECT c.relname AS name, r.relname AS root
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class r ON r.oid = pg_partition_root(c.oid)
 WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') AND c.relispartition
"""

#: Primary keys, unique and exclusion constraints, and unique indexes no constraint owns,
#: with whether they include the distribution column.
_KEYS = """
SELECT c.relname AS "table", con.conname AS name,
       CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint'
            ELSE 'exclusion constraint' END AS kind,
       pg_get_constraintdef(con.oid) AS definition,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                AND a.attname = :column AND a.attnum = ANY (con.conkey)) AS has_column
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND con.contype IN ('p', 'u', 'x')
UNION ALL
SELECT c.relname, i.relname, 'unique index', pg_get_indexdef(i.oid),
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                AND a.attname = :column AND a.attnum = ANY (x.indkey::smallint[]))
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = :schema AND x.indisunique
   AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)
"""

#: Foreign keys, with the column pairs they match and their actions.
_FOREIGN_KEYS = """
SELECT c.relname AS "table", con.conname AS name, pg_get_constraintdef(con.oid) AS definition,
       tn.nspname AS target_schema, t.relname AS target,
       con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
              ORDER BY k.i) AS columns,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
              ORDER BY k.i) AS target_columns
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE n.nspname = :schema AND con.contype = 'f'
"""

#: ``pg_constraint`` codes of the actions that set the referencing columns.
_SETS_COLUMNS = {"n": "SET NULL", "d": "SET DEFAULT"}
#: The classes a foreign key of each class may point to.
_MAY_REFER_TO: Final[Mapping[Distribution, frozenset[Distribution]]] = {
    DISTRIBUTED: frozenset({REFERENCE, DISTRIBUTED}),
    REFERENCE: frozenset({REFERENCE}),
    LOCAL: frozenset({LOCAL, REFERENCE}),
}


async def violations(
    connection: AsyncConnection, schema: str, classification: Mapping[str, Distribution | None]
) -> list[Violation]:
    """Every table of ``schema`` no class covers and every rule its tables break, read from
    the database ``connection`` is connected to; sorted by table."""
    column = DISTRIBUTION_COLUMN
    found: list[Violation] = []
    tables = {
        row.name: row.nullable
        for row in await connection.execute(text(_TABLES), {"schema": schema, "column": column})
    }
    roots: dict[str, str] = {
        row.name: row.root
        for row in await connection.execute(text(_PARTITIONS), {"schema": schema})
    }

    def owner(table: str) -> str:
        """The table whose rules ``table`` follows: itself, or the root of its partitions."""
        return roots.get(table, table)

    def kind(table: str) -> Distribution | None:
        return classification.get(owner(table))

    for table in sorted(tables.keys() - {t for t, k in classification.items() if k}):
        found.append(Violation(table, "unclassified", "no class (distributed, reference, local)"))
    for table in sorted(classification.keys() - tables.keys()):
        found.append(Violation(table, "unknown table", f"classified, but {schema} has no table"))
    for table, nullable in tables.items():
        if kind(table) is DISTRIBUTED and nullable is None:
            found.append(Violation(table, "distribution column", f"has no {column} column"))
        elif kind(table) is DISTRIBUTED and nullable:
            found.append(Violation(table, "distribution column", f"{column} may be null"))

    keys = await connection.execute(text(_KEYS), {"schema": schema, "column": column})
    for row in keys:
        if kind(row.table) is DISTRIBUTED and not row.has_column:
            found.append(
                Violation(
                    owner(row.table),
                    f"{row.kind} without {column}",
                    f"{row.name}: {row.definition}",
                )
            )

    foreign_keys = await connection.execute(text(_FOREIGN_KEYS), {"schema": schema})
    for row in foreign_keys:
        table = owner(row.table)
        source = kind(row.table)
        target = kind(row.target) if row.target_schema == schema else None
        described = f"{row.name}: {row.definition}"
        if source is None:
            continue  # reported as unclassified
        if target is None:
            found.append(Violation(table, "foreign key to an unclassified table", described))
            continue
        if target not in _MAY_REFER_TO[source]:
            found.append(Violation(table, f"foreign key from {source} to {target}", described))
            continue
        if source is not DISTRIBUTED:
            continue
        pairs = set(zip(row.columns, row.target_columns, strict=True))
        if target is DISTRIBUTED and (column, column) not in pairs:
            found.append(
                Violation(
                    table,
                    f"foreign key between distributed tables not on {column}",
                    described,
                )
            )
        actions = {_SETS_COLUMNS.get(row.on_delete), _SETS_COLUMNS.get(row.on_update)} - {None}
        if column in row.columns and actions:
            found.append(
                Violation(
                    table,
                    f"foreign key whose {', '.join(sorted(a for a in actions if a))} "
                    f"would change {column}",
                    described,
                )
            )
    # A partition's foreign keys are copies of its table's: each broken rule once.
    return sorted(set(found))


class KnownById:
    """A distributed table keyed by ``(id, city_code)``, as distribution requires, whose rows
    the ORM (like the API's paths) knows by their ``id`` alone: an identity, unique by itself.

    Put it first among a model's bases; it keeps what the other bases tell the mapper
    (``Versioned``'s version counter).
    """

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        inherited: dict[str, Any] = getattr(super(), "__mapper_args__", {})
        return {**inherited, "primary_key": [cls.__table__.c.id]}  # type: ignore[attr-defined]
