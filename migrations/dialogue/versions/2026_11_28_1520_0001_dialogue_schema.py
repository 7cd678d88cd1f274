"""dialogue schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 15:20:38.623331
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "city_ref",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("names", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("membership_status", sa.String(length=16), nullable=False),
        sa.Column("source_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_city_ref")),
        schema="dialogue",
    )
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        schema="dialogue",
    )
    op.create_index(
        "ix_outbox_unrelayed",
        "outbox",
        ["position"],
        unique=False,
        schema="dialogue",
        postgresql_where=sa.text("relayed_at IS NULL"),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "description",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "themes", postgresql.ARRAY(sa.String(length=32)), server_default="{}", nullable=False
        ),
        sa.Column("host_city_code", sa.String(length=5), nullable=True),
        sa.Column(
            "participating_cities",
            postgresql.ARRAY(sa.String(length=5)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("venue", sa.String(length=300), nullable=True),
        sa.Column("online_url", sa.String(length=2000), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="planned", nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "languages", postgresql.ARRAY(sa.String(length=16)), server_default="{}", nullable=False
        ),
        sa.Column(
            "interpretation",
            postgresql.ARRAY(sa.String(length=16)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("public", sa.Boolean(), server_default="true", nullable=False),
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
        sa.CheckConstraint(
            "capacity IS NULL OR capacity >= 0", name=op.f("ck_event_capacity_not_negative")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_event_ends_after_start")),
        sa.CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name=op.f("ck_event_registration_window"),
        ),
        sa.ForeignKeyConstraint(
            ["host_city_code"],
            ["dialogue.city_ref.code"],
            name=op.f("fk_event_host_city_code_city_ref"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        schema="dialogue",
    )
    op.create_index(
        "ix_event_cities",
        "event",
        ["participating_cities"],
        unique=False,
        schema="dialogue",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_event_host_city", "event", ["host_city_code"], unique=False, schema="dialogue"
    )
    op.create_index(
        "ix_event_starts_at", "event", ["starts_at", "id"], unique=False, schema="dialogue"
    )
    op.create_index(
        "ix_event_themes",
        "event",
        ["themes"],
        unique=False,
        schema="dialogue",
        postgresql_using="gin",
    )
    op.create_table(
        "person",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=True),
        sa.Column(
            "languages", postgresql.ARRAY(sa.String(length=16)), server_default="{}", nullable=False
        ),
        sa.Column("consent_listed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("consent_contact", sa.Boolean(), server_default="false", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["dialogue.city_ref.code"],
            name=op.f("fk_person_city_code_city_ref"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        schema="dialogue",
    )
    op.create_index(
        "ix_person_city", "person", ["city_code", "id"], unique=False, schema="dialogue"
    )
    op.create_index(
        "uq_person_email",
        "person",
        [sa.literal_column("lower(email)")],
        unique=True,
        schema="dialogue",
    )
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("room", sa.String(length=100), nullable=True),
        sa.Column("theme", sa.String(length=32), nullable=True),
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
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_agenda_item_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["dialogue.event.id"],
            name=op.f("fk_agenda_item_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_item")),
        schema="dialogue",
    )
    op.create_index(
        "ix_agenda_item_event",
        "agenda_item",
        ["event_id", "starts_at", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_table(
        "exchange",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column(
            "related_themes",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "description",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "languages", postgresql.ARRAY(sa.String(length=16)), server_default="{}", nullable=False
        ),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["dialogue.city_ref.code"],
            name=op.f("fk_exchange_city_code_city_ref"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["dialogue.person.id"],
            name=op.f("fk_exchange_contact_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange")),
        schema="dialogue",
    )
    op.create_index(
        "ix_exchange_city", "exchange", ["city_code", "id"], unique=False, schema="dialogue"
    )
    op.create_index(
        "ix_exchange_open",
        "exchange",
        ["kind", "theme"],
        unique=False,
        schema="dialogue",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "outcome",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["dialogue.event.id"],
            name=op.f("fk_outcome_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome")),
        schema="dialogue",
    )
    op.create_index(
        "ix_outcome_event", "outcome", ["event_id", "id"], unique=False, schema="dialogue"
    )
    op.create_table(
        "recommendation",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("text", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "target_cities",
            postgresql.ARRAY(sa.String(length=5)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("governance_level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="proposed", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["dialogue.event.id"],
            name=op.f("fk_recommendation_event_id_event"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation")),
        schema="dialogue",
    )
    op.create_index(
        "ix_recommendation_cities",
        "recommendation",
        ["target_cities"],
        unique=False,
        schema="dialogue",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_recommendation_event",
        "recommendation",
        ["event_id", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_table(
        "registration",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needs_visa_letter", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("interpretation_language", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("waitlisted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["dialogue.event.id"],
            name=op.f("fk_registration_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["dialogue.person.id"],
            name=op.f("fk_registration_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration")),
        sa.UniqueConstraint(
            "event_id", "person_id", name=op.f("uq_registration_event_id_person_id")
        ),
        schema="dialogue",
    )
    op.create_index(
        "ix_registration_event_status",
        "registration",
        ["event_id", "status", "waitlisted_at", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_index(
        "ix_registration_person", "registration", ["person_id"], unique=False, schema="dialogue"
    )
    op.create_table(
        "action",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("recommendation_id", sa.BigInteger(), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("title", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="planned", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["dialogue.city_ref.code"],
            name=op.f("fk_action_city_code_city_ref"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["dialogue.person.id"],
            name=op.f("fk_action_owner_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["dialogue.recommendation.id"],
            name=op.f("fk_action_recommendation_id_recommendation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action")),
        schema="dialogue",
    )
    op.create_index(
        "ix_action_city_due",
        "action",
        ["city_code", "due_on", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_index("ix_action_owner", "action", ["owner_id"], unique=False, schema="dialogue")
    op.create_index(
        "ix_action_recommendation",
        "action",
        ["recommendation_id", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_table(
        "agenda_speaker",
        sa.Column("agenda_item_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["dialogue.agenda_item.id"],
            name=op.f("fk_agenda_speaker_agenda_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["dialogue.person.id"],
            name=op.f("fk_agenda_speaker_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("agenda_item_id", "person_id", name=op.f("pk_agenda_speaker")),
        schema="dialogue",
    )
    op.create_index(
        "ix_agenda_speaker_person", "agenda_speaker", ["person_id"], unique=False, schema="dialogue"
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("recommendation_id", sa.BigInteger(), nullable=False),
        sa.Column("city_code", sa.String(length=5), nullable=False),
        sa.Column("indicator_code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["city_code"],
            ["dialogue.city_ref.code"],
            name=op.f("fk_evidence_city_code_city_ref"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["dialogue.recommendation.id"],
            name=op.f("fk_evidence_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint(
            "recommendation_id",
            "city_code",
            "indicator_code",
            "role",
            name=op.f("uq_evidence_recommendation_id_city_code_indicator_code_role"),
        ),
        schema="dialogue",
    )
    op.create_table(
        "exchange_match",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("request_city", sa.String(length=5), nullable=False),
        sa.Column("offer_city", sa.String(length=5), nullable=False),
        sa.Column("matched_by", sa.String(length=200), nullable=False),
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
        sa.CheckConstraint(
            "request_id <> offer_id", name=op.f("ck_exchange_match_distinct_exchanges")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["dialogue.exchange.id"],
            name=op.f("fk_exchange_match_offer_id_exchange"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dialogue.exchange.id"],
            name=op.f("fk_exchange_match_request_id_exchange"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_match")),
        sa.UniqueConstraint(
            "request_id", "offer_id", name=op.f("uq_exchange_match_request_id_offer_id")
        ),
        schema="dialogue",
    )
    op.create_index(
        "ix_exchange_match_offer", "exchange_match", ["offer_id"], unique=False, schema="dialogue"
    )
    op.create_table(
        "recommendation_status_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("recommendation_id", sa.BigInteger(), nullable=False),
        sa.Column("old_status", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["dialogue.recommendation.id"],
            name=op.f("fk_recommendation_status_change_recommendation_id_recommendation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_status_change")),
        schema="dialogue",
    )
    op.create_index(
        "ix_recommendation_status_change",
        "recommendation_status_change",
        ["recommendation_id", "id"],
        unique=False,
        schema="dialogue",
    )
    op.create_table(
        "action_update",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("text", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("old_status", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["dialogue.action.id"],
            name=op.f("fk_action_update_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_update")),
        schema="dialogue",
    )
    op.create_index(
        "ix_action_update_action",
        "action_update",
        ["action_id", "id"],
        unique=False,
        schema="dialogue",
    )


def downgrade() -> None:
    op.drop_index("ix_action_update_action", table_name="action_update", schema="dialogue")
    op.drop_table("action_update", schema="dialogue")
    op.drop_index(
        "ix_recommendation_status_change",
        table_name="recommendation_status_change",
        schema="dialogue",
    )
    op.drop_table("recommendation_status_change", schema="dialogue")
    op.drop_index("ix_exchange_match_offer", table_name="exchange_match", schema="dialogue")
    op.drop_table("exchange_match", schema="dialogue")
    op.drop_table("evidence", schema="dialogue")
    op.drop_index("ix_agenda_speaker_person", table_name="agenda_speaker", schema="dialogue")
    op.drop_table("agenda_speaker", schema="dialogue")
    op.drop_index("ix_action_recommendation", table_name="action", schema="dialogue")
    op.drop_index("ix_action_owner", table_name="action", schema="dialogue")
    op.drop_index("ix_action_city_due", table_name="action", schema="dialogue")
    op.drop_table("action", schema="dialogue")
    op.drop_index("ix_registration_person", table_name="registration", schema="dialogue")
    op.drop_index("ix_registration_event_status", table_name="registration", schema="dialogue")
    op.drop_table("registration", schema="dialogue")
    op.drop_index("ix_recommendation_event", table_name="recommendation", schema="dialogue")
    op.drop_index(
        "ix_recommendation_cities",
        table_name="recommendation",
        schema="dialogue",
        postgresql_using="gin",
    )
    op.drop_table("recommendation", schema="dialogue")
    op.drop_index("ix_outcome_event", table_name="outcome", schema="dialogue")
    op.drop_table("outcome", schema="dialogue")
    op.drop_index(
        "ix_exchange_open",
        table_name="exchange",
        schema="dialogue",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_exchange_city", table_name="exchange", schema="dialogue")
    op.drop_table("exchange", schema="dialogue")
    op.drop_index("ix_agenda_item_event", table_name="agenda_item", schema="dialogue")
    op.drop_table("agenda_item", schema="dialogue")
    op.drop_index("uq_person_email", table_name="person", schema="dialogue")
    op.drop_index("ix_person_city", table_name="person", schema="dialogue")
    op.drop_table("person", schema="dialogue")
    op.drop_index("ix_event_themes", table_name="event", schema="dialogue", postgresql_using="gin")
    op.drop_index("ix_event_starts_at", table_name="event", schema="dialogue")
    op.drop_index("ix_event_host_city", table_name="event", schema="dialogue")
    op.drop_index("ix_event_cities", table_name="event", schema="dialogue", postgresql_using="gin")
    op.drop_table("event", schema="dialogue")
    op.drop_index(
        "ix_outbox_unrelayed",
        table_name="outbox",
        schema="dialogue",
        postgresql_where=sa.text("relayed_at IS NULL"),
    )
    op.drop_table("outbox", schema="dialogue")
    op.drop_table("city_ref", schema="dialogue")
