"""Bases of API input models: unknown fields refused, partial updates without stray nulls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from shared.text import NUL, find_text_problem

#: Instants a request may name: what any time zone can show (a year of 1 or 9999 in one
#: zone is out of range in another) and what the platform's business can mean.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)


def contains_nul(value: Any) -> bool:
    """Whether a string, or any string inside a list or mapping, holds a NUL character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_nul(item) for item in value)
    return False


class InputModel(BaseModel):
    """A request body: unknown fields are an error, not silently dropped.

    No text anywhere in it, inside language maps and lists included, may hold what no text
    can (``shared.text``: NUL, which PostgreSQL cannot store; a lone surrogate, which no UTF-8
    column or file can; C0 controls other than tab and line breaks): it is refused here with
    the field named rather than failing at the database or in a JSON column's encoder.
    Instants (aware date-times) lie between 1900 and 2200.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _text_and_instants(cls, value: Any) -> Any:
        problem = find_text_problem(value)
        if problem:
            raise ValueError(problem)
        if isinstance(value, datetime) and value.tzinfo and not EARLIEST <= value <= LATEST:
            raise ValueError("must lie between 1900-01-01T00:00:00Z and 2200-12-31T23:59:59Z")
        return value


_NULL = {"type": "null"}


def _null_only_where_clearable(schema: dict[str, Any], model: type[Any]) -> None:
    """The JSON schema of a partial update says what validation does: ``null`` is accepted
    only by the fields in ``nullable``; the others may be omitted, and have no default."""
    fields: dict[str, Any] = getattr(model, "model_fields", {})
    clearable = {fields[name].alias or name for name in getattr(model, "nullable", ())}
    for name, member in schema.get("properties", {}).items():
        if name in clearable or not isinstance(member, dict):
            continue
        if member.get("default", ...) is None:
            del member["default"]
        alternatives = member.get("anyOf")
        if not isinstance(alternatives, list) or _NULL not in alternatives:
            continue
        rest = [alternative for alternative in alternatives if alternative != _NULL]
        del member["anyOf"]
        if len(rest) == 1 and not set(rest[0]) & set(member):
            member.update(rest[0])
        else:
            member["anyOf"] = rest


class PatchModel(InputModel):
    """A partial update: omitted fields stay as they are; ``null`` only where it clears a value.

    Subclasses list in ``nullable`` the fields a caller may clear by sending ``null``; the
    OpenAPI document shows ``null`` on those fields only.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_null_only_where_clearable)

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may be omitted but not null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, as model values (not dumped)."""
        return {name: getattr(self, name) for name in self.model_fields_set}
