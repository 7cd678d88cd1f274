"""the audit log: who changed what, when, and how

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "profiles"
INDEXES = {
    "ix_audit_log_resource": ["resource", "resource_id", "id"],
    "ix_audit_log_actor": ["actor", "id"],
    "ix_audit_log_city": ["city", "id"],
    "ix_audit_log_request_id": ["request_id"],
    "ix_audit_log_occurred_at": ["occurred_at"],
}


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=5), nullable=True),
        sa.Column("change", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema=SCHEMA,
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_log", columns, unique=False, schema=SCHEMA)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="audit_log", schema=SCHEMA)
    op.drop_table("audit_log", schema=SCHEMA)
