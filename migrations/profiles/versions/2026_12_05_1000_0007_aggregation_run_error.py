"""why a recomputation of an indicator failed, in the run log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for the runs that wrote their rows, all of them before this revision: a failed
    # recomputation used to roll its run back with it.
    op.add_column(
        "aggregation_run", sa.Column("error", sa.Text(), nullable=True), schema="profiles"
    )


def downgrade() -> None:
    op.drop_column("aggregation_run", "error", schema="profiles")
