"""editions: a city's profile frozen as published, stored once as canonical JSON with its
SHA-256, citable by its id ``{CITY}-{YEAR}-{n}``; a withdrawal keeps it as a tombstone

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edition",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("successor_id", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["profiles.city.code"],
            name=op.f("fk_edition_city_code_city"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", "city_code", name=op.f("pk_edition")),
        sa.UniqueConstraint("city_code", "year", "number", name="uq_edition_number"),
        schema="profiles",
    )
    op.create_index(
        "ix_edition_city_published",
        "edition",
        ["city_code", "published_at", "id"],
        unique=False,
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_index("ix_edition_city_published", table_name="edition", schema="profiles")
    op.drop_table("edition", schema="profiles")
