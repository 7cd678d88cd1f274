"""Bases of API input models: unknown fields refused, partial updates without stray nulls."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    ValidationInfo,
    field_validator,
)
from pydantic import HttpUrl as _HttpUrl

from shared.text import NUL, find_text_problem

#: Instants a request may name: what any time zone can show (a year of 1 or 9999 in one
#: zone is out of range in another) and what the platform's business can mean.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, tzinfo=UTC)


#: The longest web address a request may give, counted as sent.
MAX_URL_LENGTH = 2000


def _url_length_as_sent(value: Any) -> Any:
    # Counted before parsing: the parsed address may be longer than what was sent (a bare
    # host gains a "/"), so a limit on it would refuse addresses the schema admits.
    if isinstance(value, str) and len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    return value


#: An http or https address, at most ``MAX_URL_LENGTH`` characters as the caller wrote it
#: (stored as parsed, in a column without a length limit).
WebAddress = typing.Annotated[
    _HttpUrl,
    BeforeValidator(_url_length_as_sent),
    Field(json_schema_extra={"maxLength": MAX_URL_LENGTH}),
]


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
    Instants (aware date-times) and dates lie between 1900 and 2200. Booleans, numbers, dates
    and times come as the JSON types the document states, not as what Pydantic could coerce
    to them.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        """A value of the JSON type the document states: Pydantic would read ``0`` or
        ``"yes"`` as a boolean, ``"5"`` as a number and ``0`` as 1970-01-01."""
        field = cls.model_fields.get(info.field_name or "")
        expected = _scalar_of(field.annotation) if field is not None else None
        if expected is None or value is None:
            return value
        problem = _json_type_problem(expected, value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _text_and_instants(cls, value: Any) -> Any:
        problem = find_text_problem(value)
        if problem:
            raise ValueError(problem)
        if isinstance(value, datetime):
            if value.tzinfo and not EARLIEST <= value <= LATEST:
                raise ValueError("must lie between 1900-01-01T00:00:00Z and 2200-12-31T23:59:59Z")
        elif isinstance(value, date) and not EARLIEST.date() <= value <= LATEST.date():
            raise ValueError("must lie between 1900-01-01 and 2200-12-31")
        return value


#: Pydantic's constrained dates and instants, by the type their values are.
_DATE_TYPES: dict[Any, type] = {
    AwareDatetime: datetime,
    NaiveDatetime: datetime,
    PastDatetime: datetime,
    FutureDatetime: datetime,
    PastDate: date,
    FutureDate: date,
}


def _scalar_of(annotation: Any) -> type | None:
    """``bool``, ``int``, ``float``, ``date``, ``datetime`` or ``time`` when ``annotation`` is
    one of them (or it or None); ``None`` for anything else."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else None
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    annotation = _DATE_TYPES.get(annotation, annotation)
    return annotation if annotation in (bool, int, float, date, datetime, time) else None


def _json_type_problem(expected: type, value: Any) -> str | None:
    if expected is bool:
        return None if isinstance(value, bool) else "must be a JSON boolean, true or false"
    if expected in (int, float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else "must be a JSON number"
    if isinstance(value, str | expected):
        return None
    return "must be an ISO 8601 string"


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
