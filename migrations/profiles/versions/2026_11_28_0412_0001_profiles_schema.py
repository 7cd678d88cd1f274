"""profiles schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:12:28.196179
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "city",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("membership_status", sa.String(length=16), nullable=False),
        sa.Column("membership_since", sa.Date(), nullable=True),
        sa.Column(
            "focal_points",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_city")),
        schema="profiles",
    )
    op.create_table(
        "indicator",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "descriptions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("population_concept", sa.String(length=64), nullable=True),
        sa.Column(
            "dimensions",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("aggregation", sa.String(length=16), nullable=False),
        sa.Column("formula", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_indicator")),
        schema="profiles",
    )
    op.create_index(
        op.f("ix_indicator_theme"), "indicator", ["theme"], unique=False, schema="profiles"
    )
    op.create_table(
        "observation_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("observation_id", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.String(length=8), nullable=False),
        sa.Column("old", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("import_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_history")),
        schema="profiles",
    )
    op.create_index(
        op.f("ix_observation_history_observation_id"),
        "observation_history",
        ["observation_id"],
        unique=False,
        schema="profiles",
    )
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        schema="profiles",
    )
    op.create_index(
        "ix_outbox_unrelayed",
        "outbox",
        ["position"],
        unique=False,
        schema="profiles",
        postgresql_where=sa.text("relayed_at IS NULL"),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reliability_rank", sa.SmallInteger(), nullable=False),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("accessed_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        schema="profiles",
    )
    op.create_index(
        "uq_source_title_url",
        "source",
        ["title", sa.literal_column("coalesce(url, '')")],
        unique=True,
        schema="profiles",
    )
    op.create_table(
        "challenge",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("need_type", sa.String(length=16), nullable=False),
        sa.Column("description", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_challenge_city_code_city"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge")),
        schema="profiles",
    )
    op.create_index(
        "ix_challenge_city", "challenge", ["city_code", "id"], unique=False, schema="profiles"
    )
    op.create_table(
        "observation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("disaggregation", sa.String(length=255), server_default="", nullable=False),
        sa.Column(
            "dimensions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("value_low", sa.Double(), nullable=True),
        sa.Column("value_high", sa.Double(), nullable=True),
        sa.Column("obs_status", sa.String(length=1), server_default="A", nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_observation_city_code_city"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["profiles.indicator.code"],
            name=op.f("fk_observation_indicator_code_indicator"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["profiles.source.id"],
            name=op.f("fk_observation_source_id_source"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation")),
        sa.UniqueConstraint(
            "city_code",
            "indicator_code",
            "period",
            "scope",
            "disaggregation",
            "source_id",
            name="uq_observation_key",
        ),
        schema="profiles",
    )
    op.create_index(
        "ix_observation_indicator_period",
        "observation",
        ["indicator_code", "period_start"],
        unique=False,
        schema="profiles",
    )
    op.create_index(
        "ix_observation_series",
        "observation",
        ["city_code", "indicator_code", "period_start", "id"],
        unique=False,
        schema="profiles",
    )
    op.create_index(
        op.f("ix_observation_source_id"),
        "observation",
        ["source_id"],
        unique=False,
        schema="profiles",
    )
    op.create_table(
        "section",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "title", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("narrative", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("published_title", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("published_narrative", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_section_city_code_city"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section")),
        sa.UniqueConstraint("city_code", "code", name=op.f("uq_section_city_code_code")),
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_table("section", schema="profiles")
    op.drop_index(op.f("ix_observation_source_id"), table_name="observation", schema="profiles")
    op.drop_index("ix_observation_series", table_name="observation", schema="profiles")
    op.drop_index("ix_observation_indicator_period", table_name="observation", schema="profiles")
    op.drop_table("observation", schema="profiles")
    op.drop_index("ix_challenge_city", table_name="challenge", schema="profiles")
    op.drop_table("challenge", schema="profiles")
    op.drop_index("uq_source_title_url", table_name="source", schema="profiles")
    op.drop_table("source", schema="profiles")
    op.drop_index(
        "ix_outbox_unrelayed",
        table_name="outbox",
        schema="profiles",
        postgresql_where=sa.text("relayed_at IS NULL"),
    )
    op.drop_table("outbox", schema="profiles")
    op.drop_index(
        op.f("ix_observation_history_observation_id"),
        table_name="observation_history",
        schema="profiles",
    )
    op.drop_table("observation_history", schema="profiles")
    op.drop_index(op.f("ix_indicator_theme"), table_name="indicator", schema="profiles")
    op.drop_table("indicator", schema="profiles")
    op.drop_table("city", schema="profiles")
