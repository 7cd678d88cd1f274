"""Reading the log: the entries as the API shows them, the filters of ``GET /v1/audit``, and
the query of a page (the route itself is ``shared.audit_router``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, Table, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.table import MAX_TEXT_LENGTH, REDACTED, Action
from shared.errors import invalid
from shared.pagination import PageParams, keyset
from shared.params import AwareDateTimeQuery


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
