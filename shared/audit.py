"""The audit log: who changed what, when, and how; one table per schema, written with the change.

``audit_table(metadata)`` declares the ``audit_log`` table in a service's schema and turns the
log on for every ORM model of that schema: a ``after_flush`` listener on every session
records each insert, update and delete it flushes, in the same transaction, so a committed
change always has its row and a rolled-back one has none. Writes the ORM does not see (Core
``INSERT ... ON CONFLICT``, ``COPY``) are recorded by the service with ``AuditLog.record``.

A model says how it is recorded with ``__audit__``: an ``Audited`` (the resource's name, the
attribute holding its city, fields to redact or to ignore) or ``NOT_AUDITED`` for bookkeeping
and derived tables. A model of an audited schema that says nothing is recorded under its
table's name.

Who: the caller of the request (``shared.auth.optional_principal`` sets it), ``anonymous``
for a request without a token, ``system`` outside requests (worker, CLI, seeding). The
request id comes from ``shared.observability``.
"""

from __future__ import annotations

import decimal
import enum
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any, Final

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Select,
    String,
    Table,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state

from shared.distribution import LOCAL, distribution
from shared.errors import invalid
from shared.observability import actor_var, request_id_var
from shared.pagination import PageParams, keyset
from shared.params import AwareDateTimeQuery

#: Where ``audit_table`` leaves the table in its metadata, for the flush listener.
_TABLE_KEY: Final = "mc2cm.audit_table"
#: Texts longer than this are recorded as their length and SHA-256, not in full.
MAX_TEXT_LENGTH: Final = 500
REDACTED: Final = "[redacted]"
SYSTEM: Final = "system"
ANONYMOUS: Final = "anonymous"
#: Columns every model keeps for itself: their changes alone are no change.
_BOOKKEEPING: Final = frozenset({"version", "created_at", "updated_at"})


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
    """The ``audit_log`` table of the schema ``metadata`` belongs to; audits its models."""
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
    metadata.info[_TABLE_KEY] = table
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    return table


def current_actor() -> tuple[str, str | None]:
    """(actor, role) of the code running now: the request's caller, or ``system``."""
    return actor_var.get() or (SYSTEM, None)


def jsonable(value: Any) -> Any:
    """``value`` as JSON, long texts as their length and hash (the log stays small)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) <= MAX_TEXT_LENGTH:
            return value
        digest = hashlib.sha256(value.encode()).hexdigest()
        return {"length": len(value), "sha256": digest}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes):
        return {"length": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    return str(value)


def _entry(
    *,
    action: str,
    resource: str,
    resource_id: str | None,
    city: str | None,
    change: Mapping[str, Any] | None,
) -> dict[str, Any]:
    who, role = current_actor()
    return {
        "actor": who,
        "actor_role": role,
        "request_id": request_id_var.get(),
        "action": action,
        "resource": resource,
        "resource_id": resource_id,
        "city": city,
        "change": None if change is None else jsonable(change),
    }


class AuditLog:
    """Records changes the ORM does not see in one schema's log, in the caller's transaction."""

    def __init__(self, table: Table) -> None:
        self.table = table

    async def record(
        self,
        session: AsyncSession,
        *,
        action: str,
        resource: str,
        resource_id: str | int | uuid.UUID | None,
        city: str | None = None,
        change: Mapping[str, Any] | None = None,
    ) -> None:
        """Add one entry; it commits or rolls back with the change it describes."""
        await session.execute(
            insert(self.table).values(
                _entry(
                    action=action,
                    resource=resource,
                    resource_id=None if resource_id is None else str(resource_id),
                    city=city,
                    change=change,
                )
            )
        )


# The flush listener -------------------------------------------------------------------------


@dataclass
class _Pending:
    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


def _spec(mapper: Mapper[Any]) -> tuple[Table, Audited] | None:
    mapped = mapper.local_table
    if not isinstance(mapped, Table):
        return None
    table = mapped.metadata.info.get(_TABLE_KEY)
    if not isinstance(table, Table):
        return None
    declared = getattr(mapper.class_, "__audit__", Audited(resource=mapped.name))
    if declared is NOT_AUDITED:
        return None
    return table, declared


def _columns(state: InstanceState[Any], spec: Audited) -> list[str]:
    return [
        prop.key
        for prop in state.mapper.column_attrs
        if prop.key not in _BOOKKEEPING and prop.key not in spec.ignore
    ]


def _shown(spec: Audited, key: str, value: Any) -> Any:
    return REDACTED if key in spec.redact else value


def _identity(state: InstanceState[Any], spec: Audited) -> str:
    mapper = state.mapper
    keys = spec.identity or [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    return "/".join(str(state.dict.get(key)) for key in keys)


def _snapshot(state: InstanceState[Any], spec: Audited) -> dict[str, Any]:
    """The loaded values of a row (a row being created or deleted)."""
    return {
        key: _shown(spec, key, state.dict[key])
        for key in _columns(state, spec)
        if key in state.dict
    }


def _differences(state: InstanceState[Any], spec: Audited) -> dict[str, Any]:
    """``{field: [old, new]}`` of the fields an update changed."""
    changed: dict[str, Any] = {}
    for key in _columns(state, spec):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changed[key] = [_shown(spec, key, old), _shown(spec, key, new)]
    return changed


def _city(state: InstanceState[Any], spec: Audited) -> str | None:
    if spec.city is None:
        return None
    value = state.dict.get(spec.city)
    if value is None:  # a city cleared by this change: the row belonged to the old one
        previous: Sequence[Any] = state.attrs[spec.city].history.deleted or ()
        value = next(iter(previous), None)
    return None if value is None else str(value)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    """Record what this flush wrote, in its transaction (``session.new`` etc. are pre-flush)."""
    pending = _Pending()
    for action, instances in (
        (Action.create, session.new),
        (Action.update, session.dirty),
        (Action.delete, session.deleted),
    ):
        for instance in instances:
            state = instance_state(instance)
            found = _spec(state.mapper)
            if found is None:
                continue
            table, spec = found
            if action is Action.update:
                change = _differences(state, spec)
                if not change:
                    continue
            else:
                change = _snapshot(state, spec)
            pending.add(
                table,
                _entry(
                    action=action.value,
                    resource=spec.resource,
                    resource_id=_identity(state, spec),
                    city=_city(state, spec),
                    change=change,
                ),
            )
    if pending.rows:
        connection = session.connection()
        for table, rows in pending.rows.items():
            connection.execute(insert(table), rows)


# Reading the log ----------------------------------------------------------------------------


class AuditEntry(BaseModel):
    """One recorded change."""

    id: int
    occurred_at: datetime = Field(description="When the change's transaction ran.")
    actor: str = Field(
        description="The token's subject; `anonymous` without a token, `system` for the "
        "worker, the command line and seeding.",
        examples=["ana.ferreira@lisboa.pt"],
    )
    actor_role: str | None = Field(examples=["editor"])
    request_id: str | None = Field(description="`X-Request-ID` of the request that made it.")
    action: str = Field(examples=["update"], description="create, update, delete, upsert, import")
    resource: str = Field(examples=["observation"])
    resource_id: str | None = Field(examples=["4711"])
    city: str | None = Field(examples=["PTLIS"], description="The city the resource belongs to.")
    change: dict[str, Any] | None = Field(
        description="Creations: the new values; updates: `{field: [old, new]}` of the fields "
        "that changed; deletions: the old values; imports: their counts. Secrets show as "
        f"`{REDACTED}`; texts over {MAX_TEXT_LENGTH} characters as their length and SHA-256.",
        examples=[{"value": [12500, 12750]}],
    )

    @classmethod
    def of(cls, row: Row[Any]) -> AuditEntry:
        return cls.model_validate(row._mapping)


@dataclass(frozen=True)
class AuditFilter:
    """What a reader of the log asks for; every criterion given must hold."""

    actor: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    action: str | None = None
    city: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


def audit_filter(
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="A token's subject, `anonymous` or `system`.",
            examples=["editor@lisboa.pt"],
        ),
    ] = None,
    resource: Annotated[
        str | None, Query(min_length=1, max_length=64, examples=["observation"])
    ] = None,
    resource_id: Annotated[
        str | None, Query(min_length=1, max_length=200, examples=["4711"])
    ] = None,
    action: Annotated[Action | None, Query()] = None,
    city: Annotated[str | None, Query(pattern=r"^[A-Z]{5}$", examples=["PTLIS"])] = None,
    since: Annotated[
        AwareDateTimeQuery | None, Query(description="Changes at or after this time.")
    ] = None,
    until: Annotated[
        AwareDateTimeQuery | None,
        Query(description="Changes before this time; later than `since` (422 otherwise)."),
    ] = None,
    request_id: Annotated[
        str | None, Query(min_length=1, max_length=128, description="An `X-Request-ID`.")
    ] = None,
) -> AuditFilter:
    """FastAPI dependency: the filters of ``GET /v1/audit``."""
    if since is not None and until is not None and until <= since:
        raise invalid("until", "must be later than since", location="query")
    return AuditFilter(
        actor=actor,
        resource=resource,
        resource_id=resource_id,
        action=action.value if action is not None else None,
        city=city,
        since=since,
        until=until,
        request_id=request_id,
    )


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]


def audit_query(table: Table, filters: AuditFilter, page: PageParams) -> Select[Any]:
    """A page of the log, newest first."""
    statement = select(table)
    for column, value in (
        (table.c.actor, filters.actor),
        (table.c.resource, filters.resource),
        (table.c.resource_id, filters.resource_id),
        (table.c.action, filters.action),
        (table.c.city, filters.city),
        (table.c.request_id, filters.request_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if filters.since is not None:
        statement = statement.where(table.c.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(table.c.occurred_at < filters.until)
    return keyset(statement, page, table.c.id, descending=True)


async def search_audit(
    session: AsyncSession, table: Table, filters: AuditFilter, page: PageParams
) -> Sequence[Row[Any]]:
    """The rows of a page of the log (one more than the page when there is a next one)."""
    rows: Sequence[Row[Any]] = (await session.execute(audit_query(table, filters, page))).all()
    return rows
