"""web addresses stored as parsed, without a length limit: the 2,000 characters are counted as
the caller sent them, and parsing may lengthen an address (a bare host gains a "/")

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "dialogue"
#: (table, column) of every web address the dialogue keeps.
COLUMNS = (("outcome", "url"), ("event", "online_url"), ("webhook_subscription", "url"))


def upgrade() -> None:
    # varchar to text: the same storage in PostgreSQL, no table rewrite.
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.Text(), existing_type=sa.String(2000), schema=SCHEMA
        )


def downgrade() -> None:
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(2000),
            existing_type=sa.Text(),
            schema=SCHEMA,
            postgresql_using=f"left({column}, 2000)",
        )
