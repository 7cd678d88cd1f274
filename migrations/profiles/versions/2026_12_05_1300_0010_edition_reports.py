"""edition reports: each edition's PDF per language, rendered once by the worker and kept
in PostgreSQL (the image's file system is read-only; replicas share nothing else)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edition_report",
        sa.Column("edition_id", sa.String(length=24), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_hash", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["edition_id", "city_code"],
            ["profiles.edition.id", "profiles.edition.city_code"],
            name="fk_edition_report_edition",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "edition_id", "city_code", "language", name=op.f("pk_edition_report")
        ),
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_table("edition_report", schema="profiles")
