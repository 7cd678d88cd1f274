"""observations version: a counter per city, one more at every write of its observations,
which the exports' weak ETags are made of

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observations_version",
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_observations_version_city_code_city"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("city_code", name=op.f("pk_observations_version")),
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_table("observations_version", schema="profiles")
