"""The audit log's table, and how a model says it is recorded (``__audit__``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.distribution import LOCAL, distribution

#: Where ``audit_table`` leaves the table in its metadata, for the flush listener.
TABLE_KEY: Final = "mc2cm.audit_table"
#: Texts longer than this are recorded as their length and SHA-256, not in full.
MAX_TEXT_LENGTH: Final = 500
REDACTED: Final = "[redacted]"
SYSTEM: Final = "system"
ANONYMOUS: Final = "anonymous"


class Action(enum.StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    upsert = "upsert"
    import_ = "import"


@dataclass(frozen=True)
class Audited:
    """How the changes of a model are recorded."""

    #: The resource's name in the log, e.g. ``observation``.
    resource: str
    #: The attribute holding the code of the city the resource belongs to, if any.
    city: str | None = None
    #: The attributes the API names the resource by, joined by ``/`` (default: primary key).
    identity: tuple[str, ...] = ()
    #: Fields whose values are never recorded (secrets): a change shows as ``[redacted]``.
    redact: frozenset[str] = frozenset()
    #: Bookkeeping fields: not recorded, and a change of them alone records nothing.
    ignore: frozenset[str] = frozenset()


#: ``__audit__`` of bookkeeping and derived tables (outbox-like logs, caches, read models).
NOT_AUDITED: Final = None


def audit_table(metadata: MetaData) -> Table:
    """The ``audit_log`` table of the schema ``metadata`` belongs to; the models of that
    schema are recorded in it by the sessions of every ``shared.db.Database`` that audits."""
    table = Table(
        "audit_log",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        # The transaction's time: every row of one change has the same.
        Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor", String(200), nullable=False),
        Column("actor_role", String(16)),
        Column("request_id", String(128)),
        Column("action", String(32), nullable=False),
        Column("resource", String(64), nullable=False),
        Column("resource_id", String(200)),
        Column("city", String(5)),
        Column("change", JSONB),
        Index("ix_audit_log_resource", "resource", "resource_id", "id"),
        Index("ix_audit_log_actor", "actor", "id"),
        Index("ix_audit_log_city", "city", "id"),
        Index("ix_audit_log_request_id", "request_id"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
        # Written with every change, of any city or none: stays on the coordinator.
        **distribution(LOCAL),
    )
    metadata.info[TABLE_KEY] = table
    return table


def audit_table_of(metadata: MetaData) -> Table | None:
    """The ``audit_log`` table ``audit_table`` declared in ``metadata``; ``None`` if the schema
    keeps no log."""
    table = metadata.info.get(TABLE_KEY)
    return table if isinstance(table, Table) else None
