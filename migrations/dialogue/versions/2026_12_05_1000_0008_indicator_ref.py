"""indicator_ref: the dialogue's read model of profiles' indicator catalogue (code, names,
unit), fed by ``indicator.changed`` events, so evidence can be checked and named without a
call to profiles

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_ref",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("source_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_indicator_ref")),
        schema="dialogue",
    )


def downgrade() -> None:
    op.drop_table("indicator_ref", schema="dialogue")
