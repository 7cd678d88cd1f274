from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.db import audit_log_table
from shared.audit import AuditFilter, search_audit
from shared.pagination import PageParams


class AuditRepository:
    """Reads of the log of schema ``profiles`` (it is written by ``shared.audit``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> AuditRepository:
        return cls(session)

    async def search(self, filters: AuditFilter, page: PageParams) -> Sequence[Row[Any]]:
        """A page of entries, newest first."""
        return await search_audit(self.session, audit_log_table, filters, page)
