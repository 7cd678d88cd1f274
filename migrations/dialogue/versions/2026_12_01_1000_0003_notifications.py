"""webhook subscriptions and the notifications' delivery log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
        schema="dialogue",
    )
    op.create_index(
        "ix_webhook_subscription_event_types",
        "webhook_subscription",
        ["event_types"],
        unique=False,
        schema="dialogue",
        postgresql_using="gin",
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_key", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=2000), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("outbox_event_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("subject", sa.String(length=998), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("calendar", sa.Text(), nullable=True),
        sa.Column("calendar_method", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f("ck_notification_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_notification_status"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["dialogue.person.id"],
            name=op.f("fk_notification_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["dialogue.webhook_subscription.id"],
            name=op.f("fk_notification_subscription_id_webhook_subscription"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_notification_delivery_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notification_message_id")),
        schema="dialogue",
    )
    op.create_index(
        "ix_notification_due",
        "notification",
        ["next_attempt_at"],
        unique=False,
        schema="dialogue",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_notification_person", "notification", ["person_id"], unique=False, schema="dialogue"
    )
    op.create_index(
        "ix_notification_recipient",
        "notification",
        ["recipient", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_index(
        "ix_notification_status", "notification", ["status", "id"], unique=False, schema="dialogue"
    )
    op.create_index(
        "ix_notification_subscription",
        "notification",
        ["subscription_id", "id"],
        unique=False,
        schema="dialogue",
    )


def downgrade() -> None:
    op.drop_index("ix_notification_subscription", table_name="notification", schema="dialogue")
    op.drop_index("ix_notification_status", table_name="notification", schema="dialogue")
    op.drop_index("ix_notification_recipient", table_name="notification", schema="dialogue")
    op.drop_index("ix_notification_person", table_name="notification", schema="dialogue")
    op.drop_index(
        "ix_notification_due",
        table_name="notification",
        schema="dialogue",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("notification", schema="dialogue")
    op.drop_index(
        "ix_webhook_subscription_event_types",
        table_name="webhook_subscription",
        schema="dialogue",
        postgresql_using="gin",
    )
    op.drop_table("webhook_subscription", schema="dialogue")
