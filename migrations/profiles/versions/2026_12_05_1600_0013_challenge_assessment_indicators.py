"""challenge assessment indicators: a need names the assessment-framework indicators it
answers to, so an assessment's gaps list the city's challenges naming them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "challenge",
        sa.Column(
            "assessment_indicators",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        schema="profiles",
    )


def downgrade() -> None:
    op.drop_column("challenge", "assessment_indicators", schema="profiles")
