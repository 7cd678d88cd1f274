"""The transactional outbox: one table per schema, written in the same transaction as a change.

``outbox_table(metadata)`` declares the table in a service's schema; ``OutboxWriter`` adds an
event to the current session and asks PostgreSQL to notify the relay when the transaction
commits (``NOTIFY`` is transactional: a rolled-back change wakes nobody). The worker's relay
sets ``relayed_at`` when it has enqueued the event's job, the job sets ``handled_at`` when every
handler has run; a row relayed long ago and still unhandled is enqueued again. The envelope
records the id of the request (or job) that wrote it, which the relay hands to the event's job,
and, when the process traces, the W3C ``traceparent`` of the span that wrote it, which the relay
and the job continue (``shared.tracing``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.events import EventPayload, OutboxEvent
from shared.distribution import LOCAL, distribution
from shared.observability import request_id_var
from shared.tracing import current_traceparent

#: The channel the relay listens on; the payload is the schema that has new rows.
OUTBOX_CHANNEL = "mc2cm_outbox"


def outbox_table(metadata: MetaData) -> Table:
    """The ``outbox`` table of the schema ``metadata`` belongs to."""
    return Table(
        "outbox",
        metadata,
        Column("position", BigInteger, Identity(), primary_key=True),
        Column("id", Uuid, nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor", String(200)),
        Column("envelope", JSONB, nullable=False),
        Column("relayed_at", DateTime(timezone=True)),
        Column("handled_at", DateTime(timezone=True)),
        Index(
            "ix_outbox_unrelayed",
            "position",
            postgresql_where=text("relayed_at IS NULL"),
        ),
        Index(
            "ix_outbox_unhandled",
            "relayed_at",
            postgresql_where=text("relayed_at IS NOT NULL AND handled_at IS NULL"),
        ),
        # Relayed in order from one place: stays on the coordinator.
        **distribution(LOCAL),
    )


class OutboxWriter:
    """Adds events of one service to its outbox within the caller's transaction."""

    def __init__(self, table: Table, *, source: str) -> None:
        self.table = table
        self.source = source

    async def add(
        self, session: AsyncSession, payload: EventPayload, *, actor: str | None
    ) -> OutboxEvent:
        """Write ``payload`` as an event; it commits or rolls back with the change."""
        event = OutboxEvent.wrap(
            payload,
            source=self.source,
            actor=actor,
            request_id=request_id_var.get(),
            traceparent=current_traceparent(),
        )
        await session.execute(
            insert(self.table).values(
                id=event.id,
                type=event.type,
                occurred_at=event.occurred_at,
                actor=event.actor,
                envelope=event.stored(),
            )
        )
        await session.execute(select(func.pg_notify(OUTBOX_CHANNEL, self.table.schema or "public")))
        return event
