"""The flush listener: what a session flushes of an audited schema's models is recorded in
that schema's log, in the same transaction.

It is registered on the session class of each ``shared.db.Database`` that audits
(``audit_sessions``), never on SQLAlchemy's ``Session`` for the whole process: sessions of
another database, or of one that does not audit, record nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction
from sqlalchemy.orm.attributes import instance_state

from shared.audit.recording import entry
from shared.audit.table import NOT_AUDITED, REDACTED, Action, Audited, audit_table_of

#: Columns every model keeps for itself: their changes alone are no change.
_BOOKKEEPING: Final = frozenset({"version", "created_at", "updated_at"})
#: The attribute a session class whose sessions are audited carries.
_AUDITED: Final = "_mc2cm_audited"


def audit_sessions(session_class: type[Session]) -> None:
    """Record what the sessions of ``session_class`` (a class of one ``Database``'s own,
    not ``Session`` itself) flush of the audited schemas' models."""
    if session_class is Session:
        raise ValueError("audit the session class of one Database, not every Session")
    if not audits(session_class):
        event.listen(session_class, "after_flush", _after_flush)
        setattr(session_class, _AUDITED, True)


def audits(session_class: type[Session]) -> bool:
    """Whether the sessions of ``session_class`` record what they flush.

    The class says so itself (in its own ``__dict__``, not inherited): SQLAlchemy's
    ``event.contains`` keys its registry by ``id(target)``, and a session class made for a
    ``Database`` since collected may leave its key to a new class at the same address.
    """
    return bool(vars(session_class).get(_AUDITED, False))


@dataclass
class _Pending:
    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)


def _spec(mapper: Mapper[Any]) -> tuple[Table, Audited] | None:
    mapped = mapper.local_table
    if not isinstance(mapped, Table):
        return None
    table = audit_table_of(mapped.metadata)
    if table is None:
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
                entry(
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
