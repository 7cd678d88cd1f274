"""outbox rows record when their job handled them

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        schema="dialogue",
    )
    op.create_index(
        "ix_outbox_unhandled",
        "outbox",
        ["relayed_at"],
        unique=False,
        schema="dialogue",
        postgresql_where=sa.text("relayed_at IS NOT NULL AND handled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_outbox_unhandled",
        table_name="outbox",
        schema="dialogue",
        postgresql_where=sa.text("relayed_at IS NOT NULL AND handled_at IS NULL"),
    )
    op.drop_column("outbox", "handled_at", schema="dialogue")
