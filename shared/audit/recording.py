"""One entry of the log: who (the caller, or ``system``), what, and the change as JSON; and
``AuditLog.record`` for the writes the ORM does not see."""

from __future__ import annotations

import decimal
import enum
import hashlib
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.table import MAX_TEXT_LENGTH, SYSTEM
from shared.observability import actor_var, request_id_var


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


def entry(
    *,
    action: str,
    resource: str,
    resource_id: str | None,
    city: str | None,
    change: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The row of one change, by the code running now."""
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
                entry(
                    action=action,
                    resource=resource,
                    resource_id=None if resource_id is None else str(resource_id),
                    city=city,
                    change=change,
                )
            )
        )
