"""observation reliability rank: each observation keeps its source's ``reliability_rank``,
and an index delivers an indicator's values in the order the preferred one is chosen

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 18:00:00

The recomputation of aggregates chooses, per city and figure, the value of the most reliable
source, then the newest. With the rank in another table no index could give the rows in that
order, so every recomputation sorted all of an indicator's values. The copy is filled here
from ``source``; the writer sets it on every row it inserts, a source's change of rank
updates its observations in the same transaction, and a row inserted by any other statement
without it (fixtures, scripts) takes it from its source by a trigger that fires only then.

``ix_observation_preference`` is built on each partition first, named after it with the
partition's suffix as migration 0014 does (``ix_observation_preference_p03``), then on the
table, which takes them in.

A recomputation request (``aggregation_request``) also names the periods and cities its
changes touched (``periods``, ``cities``; null for all of them): a write recomputes only
those periods, and the coverage of those cities.
"""

from collections.abc import Sequence
from typing import Any

from alembic import op
from sqlalchemy import text

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "profiles.observation"
INDEX = "ix_observation_preference"
INDEX_COLUMNS = (
    "indicator_code, period, scope, disaggregation, city_code, reliability_rank, "
    "updated_at DESC, id DESC"
)
FUNCTION = "profiles.observation_reliability_rank"
TRIGGER = "tr_observation_reliability_rank"


def _rows(sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in op.get_bind().execute(text(sql))]


def _execute(sql: str) -> None:
    op.get_bind().execute(text(sql))


def upgrade() -> None:
    _execute("ALTER TABLE profiles.aggregation_request ADD COLUMN periods varchar(10)[]")
    _execute("ALTER TABLE profiles.aggregation_request ADD COLUMN cities varchar(5)[]")
    _execute(f"ALTER TABLE {TABLE} ADD COLUMN reliability_rank smallint")
    _execute(
        f"UPDATE {TABLE} o SET reliability_rank = s.reliability_rank "
        "FROM profiles.source s WHERE s.id = o.source_id"
    )
    _execute(f"ALTER TABLE {TABLE} ALTER COLUMN reliability_rank SET NOT NULL")
    _execute(
        f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT s.reliability_rank INTO NEW.reliability_rank
            FROM profiles.source s WHERE s.id = NEW.source_id;
            RETURN NEW;
        END
        $$
        """
    )
    # Only a row inserted without its rank calls the function (the writer gives it).
    _execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {TABLE} FOR EACH ROW "
        f"WHEN (NEW.reliability_rank IS NULL) EXECUTE FUNCTION {FUNCTION}()"
    )
    partitions = _rows(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = CAST('{TABLE}' AS regclass) ORDER BY c.relname"
    )
    for (partition,) in partitions:
        suffix = str(partition).removeprefix("observation")
        _execute(
            f"CREATE INDEX {INDEX}{suffix} ON profiles.{partition} ({INDEX_COLUMNS}) "
            "WHERE value IS NOT NULL"
        )
    _execute(f"CREATE INDEX {INDEX} ON {TABLE} ({INDEX_COLUMNS}) WHERE value IS NOT NULL")
    _execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    _execute(f"DROP INDEX profiles.{INDEX}")
    _execute(f"DROP TRIGGER {TRIGGER} ON {TABLE}")
    _execute(f"DROP FUNCTION {FUNCTION}()")
    _execute(f"ALTER TABLE {TABLE} DROP COLUMN reliability_rank")
    _execute("ALTER TABLE profiles.aggregation_request DROP COLUMN periods")
    _execute("ALTER TABLE profiles.aggregation_request DROP COLUMN cities")
