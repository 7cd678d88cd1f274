"""the smallest value an aggregate combines (small-number suppression of breakdowns)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null until the worker recomputes the indicator (it does at every start): breakdowns of
    # counts read as suppressed meanwhile.
    op.add_column(
        "aggregate", sa.Column("min_value", sa.Double(), nullable=True), schema="profiles"
    )


def downgrade() -> None:
    op.drop_column("aggregate", "min_value", schema="profiles")
