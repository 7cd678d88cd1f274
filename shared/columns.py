"""How API values become column values: closed vocabularies as checked columns, and a request
body's fields copied into a row.

``StrEnumColumn(EventStatus, 16)`` is the type of a column holding one member of a ``StrEnum``:
stored as its text, read back as the member, and checked by the database, which refuses any
other text (``CHECK (status IN (...))`` named ``ck_<table>_<column>``, declared with the table
and added by the schema's migrations).

``column_values`` and ``apply_changes`` copy a body's fields (``payload.model_dump()``, or a
``PatchModel``'s ``changes()``) into a model's columns: each field under its column's name
(``renamed`` names those that differ) and each value as the column stores it (``stored``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import CheckConstraint, Column, String, Table, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import SchemaEventTarget
from sqlalchemy.types import TypeDecorator

E = TypeVar("E", bound=enum.StrEnum)

#: Values a column takes as they are; anything else that is not a list or an enumeration
#: (URLs, e-mail address types) is stored as its text.
_AS_IS = (str, bool, int, float, Decimal, dict, date, UUID)


class StrEnumColumn(TypeDecorator[E]):
    """A text column whose values are the members of ``enum_class``, checked by the database.

    The column's table gets ``CHECK (<column> IN (<the members' values>))`` named after the
    column (the naming convention makes it ``ck_<table>_<column>``). Adding a member needs a
    migration replacing the constraint. Binds take the members or their text (the check
    refuses other text); loads give the members.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class
        self.length = length

    @property
    def values(self) -> list[str]:
        """The texts the column accepts, in the enumeration's order."""
        return [member.value for member in self.enum_class]

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(value.value if isinstance(value, enum.Enum) else value)

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_class(value)

    def _set_parent(self, parent: SchemaEventTarget, outer: bool = False, **kw: Any) -> None:
        super()._set_parent(parent, outer=outer, **kw)
        if isinstance(parent, Column):
            # Called again with the table once the column is part of one.
            parent._on_table_attach(self._add_check)

    def _add_check(self, column: Column[Any], table: Table) -> None:
        table.append_constraint(
            CheckConstraint(type_coerce(column, String()).in_(self.values), name=column.name)
        )


def stored(value: Any) -> Any:
    """``value`` as a column stores it: an enumeration member as its value, a date-time in UTC,
    lists item by item, text of anything else that is no plain value (URLs)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, list | tuple):
        return [stored(item) for item in value]
    if isinstance(value, _AS_IS):
        return value
    return str(value)


def column_values(
    fields: Mapping[str, Any], *, renamed: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A body's ``fields`` as column values: by column name (``renamed`` maps the API's names
    that differ from their columns') and as stored."""
    names = renamed or {}
    return {names.get(field, field): stored(value) for field, value in fields.items()}


def apply_changes(
    row: object, changes: Mapping[str, Any], *, renamed: Mapping[str, str] | None = None
) -> None:
    """Set the columns of ``row`` the ``changes`` name, as ``column_values`` gives them."""
    for column, value in column_values(changes, renamed=renamed).items():
        setattr(row, column, value)
