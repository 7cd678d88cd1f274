"""the e-mail owed to an event's participants for a burst of changes, sent once they pause

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "dialogue"


def upgrade() -> None:
    op.create_table(
        "event_change_notice",
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_change_id", sa.Uuid(), nullable=False),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            [f"{SCHEMA}.event.id"],
            name=op.f("fk_event_change_notice_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_change_notice")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("event_change_notice", schema=SCHEMA)
