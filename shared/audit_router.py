"""``GET /v1/audit``, the same read of the audit log in every service, on its own schema's
table (the log is written by ``shared.audit``)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Table

from shared.audit import AuditEntry, AuditFilterDep, search_audit
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page


def audit_router(table: Table) -> APIRouter:
    """The audit log's route, reading ``table`` (a service's ``audit_log``)."""
    router = APIRouter(prefix="/v1/audit", tags=["audit"])

    @router.get(
        "",
        summary="The audit log",
        description="Admins only. Every change of the service's data, newest first: who made "
        "it (with the role of their token), when, in which request, to which resource and "
        "city, and what changed. Filters combine with AND.",
        response_model=Page[AuditEntry],
        responses=problem_responses(401, 403),
    )
    async def list_audit(
        session: SessionDep, page: PageDep, filters: AuditFilterDep, principal: AdminPrincipal
    ) -> Page[AuditEntry]:
        rows = await search_audit(session, table, filters, page)
        return build_page(rows, page, key=lambda row: [row.id], item=AuditEntry.of)

    return router
