"""assessment_ref: the dialogue's read model of profiles' published assessments (per
assessment its city, framework version and reference date; per framework indicator its
titles and score), fed by ``assessment.published`` events; evidence may cite an assessment
indicator (``evidence.framework_code``, empty for the catalogue's indicators)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_ref",
        sa.Column("assessment_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("framework_code", sa.String(length=48), nullable=False),
        sa.Column("framework_version", sa.String(length=16), nullable=False),
        sa.Column("framework_titles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rankable", sa.Boolean(), nullable=False),
        sa.Column("reference_date", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_assessment_ref")),
        schema="dialogue",
    )
    op.create_index(
        "ix_assessment_ref_city",
        "assessment_ref",
        ["city_code", "framework_code", "reference_date"],
        unique=False,
        schema="dialogue",
    )
    op.create_table(
        "assessment_indicator_ref",
        sa.Column("assessment_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("area_code", sa.String(length=48), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("titles", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["dialogue.assessment_ref.assessment_id"],
            name=op.f("fk_assessment_indicator_ref_assessment_id_assessment_ref"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", "code", name=op.f("pk_assessment_indicator_ref")),
        schema="dialogue",
    )
    op.add_column(
        "evidence",
        sa.Column("framework_code", sa.String(length=48), server_default="", nullable=False),
        schema="dialogue",
    )
    op.drop_constraint(
        "uq_evidence_recommendation_id_city_code_indicator_code_role",
        "evidence",
        schema="dialogue",
        type_="unique",
    )
    op.create_unique_constraint(
        "uq_evidence_link",
        "evidence",
        ["recommendation_id", "city_code", "framework_code", "indicator_code", "role"],
        schema="dialogue",
    )
    op.create_index(
        "ix_evidence_assessment",
        "evidence",
        ["city_code", "framework_code", "indicator_code"],
        unique=False,
        schema="dialogue",
    )


def downgrade() -> None:
    # Evidence citing assessment indicators has no place in the older table.
    op.execute("DELETE FROM dialogue.evidence WHERE framework_code <> ''")
    op.drop_index("ix_evidence_assessment", table_name="evidence", schema="dialogue")
    op.drop_constraint("uq_evidence_link", "evidence", schema="dialogue", type_="unique")
    op.create_unique_constraint(
        "uq_evidence_recommendation_id_city_code_indicator_code_role",
        "evidence",
        ["recommendation_id", "city_code", "indicator_code", "role"],
        schema="dialogue",
    )
    op.drop_column("evidence", "framework_code", schema="dialogue")
    op.drop_table("assessment_indicator_ref", schema="dialogue")
    op.drop_index("ix_assessment_ref_city", table_name="assessment_ref", schema="dialogue")
    op.drop_table("assessment_ref", schema="dialogue")
