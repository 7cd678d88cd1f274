"""ready to be distributed by city: the primary keys of the per-city tables include city_code,
the value history keeps its observation's city; status and kind columns refuse values outside
their vocabularies (a CHECK per column, ck_<table>_<column>)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "profiles"
#: Tables distributed by city whose primary key was (id) and becomes (id, city_code).
CITY_KEYED = ("observation", "observation_history", "section", "challenge", "derived_value")
#: (table, column, the values it accepts) of every status and kind column, as of this revision.
VOCABULARIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("aggregation_run", "trigger", ("change", "sweep", "refresh")),
    ("city", "membership_status", ("confirmed", "expected")),
    (
        "indicator",
        "unit",
        ("persons", "percent", "per_mille", "count", "currency", "index", "score"),
    ),
    ("indicator", "value_type", ("integer", "decimal")),
    ("indicator", "aggregation", ("sum", "mean", "weighted_mean", "none")),
    ("observation_history", "change", ("created", "updated", "deleted")),
    (
        "source",
        "kind",
        (
            "census",
            "register",
            "administrative",
            "survey",
            "unhcr",
            "mc2cm_profile",
            "academic",
            "ngo_estimate",
            "press",
            "other",
        ),
    ),
    ("aggregate", "group_kind", ("network", "region")),
    ("aggregate", "rule", ("sum", "mean", "weighted_mean", "none")),
    ("challenge", "need_type", ("governance", "resources", "capabilities")),
    ("challenge", "priority", ("high", "medium", "low")),
    ("observation", "obs_status", ("A", "B", "D", "E", "F", "I", "M", "P", "U")),
    ("section", "status", ("draft", "in_review", "published")),
)

#: The city of each history row: its observation's, or for a withdrawn observation the city
#: the audit log recorded with it (every change of an observation is logged with its city
#: since revision 0006; the withdrawal is).
_BACKFILL = """
UPDATE profiles.observation_history h SET city_code = o.city_code
  FROM profiles.observation o WHERE o.id = h.observation_id;
UPDATE profiles.observation_history h SET city_code = logged.city
  FROM (SELECT DISTINCT ON (resource_id) resource_id, city FROM profiles.audit_log
         WHERE resource = 'observation' AND resource_id IS NOT NULL AND city IS NOT NULL
         ORDER BY resource_id, id DESC) logged
 WHERE h.city_code IS NULL AND logged.resource_id = h.observation_id::text;
-- Withdrawn before the audit log existed: no record names the city.
UPDATE profiles.observation_history SET city_code = '' WHERE city_code IS NULL;
"""


def upgrade() -> None:
    op.add_column(
        "observation_history", sa.Column("city_code", sa.String(5), nullable=True), schema=SCHEMA
    )
    for statement in _BACKFILL.split(";\n"):
        if statement.strip():
            op.execute(statement)
    op.alter_column("observation_history", "city_code", nullable=False, schema=SCHEMA)
    for table in CITY_KEYED:
        op.execute(
            f"ALTER TABLE {SCHEMA}.{table} DROP CONSTRAINT pk_{table}, "
            f"ADD CONSTRAINT pk_{table} PRIMARY KEY (id, city_code)"
        )
    for table, column, values in VOCABULARIES:
        op.create_check_constraint(
            op.f(f"ck_{table}_{column}"),
            table,
            sa.column(column).in_(values),
            schema=SCHEMA,
        )


def downgrade() -> None:
    for table, column, _values in VOCABULARIES:
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check", schema=SCHEMA)
    for table in CITY_KEYED:
        op.execute(
            f"ALTER TABLE {SCHEMA}.{table} DROP CONSTRAINT pk_{table}, "
            f"ADD CONSTRAINT pk_{table} PRIMARY KEY (id)"
        )
    op.drop_column("observation_history", "city_code", schema=SCHEMA)
