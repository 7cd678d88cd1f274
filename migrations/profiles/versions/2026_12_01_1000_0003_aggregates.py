"""derived values, network and regional aggregates, the coverage matrix, and the worker's
recomputation requests and run log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aggregation_request",
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("indicator_code", name=op.f("pk_aggregation_request")),
        schema="profiles",
    )
    op.create_table(
        "aggregation_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("derived_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("aggregate_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("coverage_rows", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregation_run")),
        schema="profiles",
    )
    op.create_index(
        "ix_aggregation_run_indicator",
        "aggregation_run",
        ["indicator_code", "started_at"],
        unique=False,
        schema="profiles",
    )
    op.create_table(
        "aggregate",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("disaggregation", sa.String(length=255), nullable=False),
        sa.Column("dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("group_kind", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("city_count", sa.Integer(), nullable=False),
        sa.Column("cities", postgresql.ARRAY(sa.String(length=5)), nullable=False),
        sa.Column("derived_cities", postgresql.ARRAY(sa.String(length=5)), nullable=False),
        sa.Column("weight_total", sa.Double(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["profiles.indicator.code"],
            name=op.f("fk_aggregate_indicator_code_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aggregate")),
        sa.UniqueConstraint(
            "indicator_code",
            "period",
            "scope",
            "disaggregation",
            "group_kind",
            "region",
            name="uq_aggregate_key",
        ),
        schema="profiles",
    )
    op.create_table(
        "coverage",
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("indicators", sa.Integer(), nullable=False),
        sa.Column("with_data", sa.Integer(), nullable=False),
        sa.Column("recent", sa.Integer(), nullable=False),
        sa.Column("latest_period_end", sa.Date(), nullable=True),
        sa.Column("recent_since", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_coverage_city_code_city"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("city_code", "theme", name=op.f("pk_coverage")),
        schema="profiles",
    )
    op.create_table(
        "derived_value",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("disaggregation", sa.String(length=255), nullable=False),
        sa.Column("dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_derived_value_city_code_city"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["profiles.indicator.code"],
            name=op.f("fk_derived_value_indicator_code_indicator"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derived_value")),
        sa.UniqueConstraint(
            "indicator_code",
            "city_code",
            "period",
            "scope",
            "disaggregation",
            name="uq_derived_value_key",
        ),
        schema="profiles",
    )
    op.create_index(
        "ix_derived_value_city",
        "derived_value",
        ["city_code", "indicator_code"],
        unique=False,
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_index("ix_derived_value_city", table_name="derived_value", schema="profiles")
    op.drop_table("derived_value", schema="profiles")
    op.drop_table("coverage", schema="profiles")
    op.drop_table("aggregate", schema="profiles")
    op.drop_index("ix_aggregation_run_indicator", table_name="aggregation_run", schema="profiles")
    op.drop_table("aggregation_run", schema="profiles")
    op.drop_table("aggregation_request", schema="profiles")
