"""Bases of API input models: unknown fields refused, partial updates without stray nulls."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class InputModel(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PatchModel(InputModel):
    """A partial update: omitted fields stay as they are; ``null`` only where it clears a value.

    Subclasses list in ``nullable`` the fields a caller may clear by sending ``null``.
    """

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
