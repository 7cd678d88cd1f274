"""Housekeeping cron jobs: what the platform keeps only for a while is deleted when due."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from services.worker.context import worker_context
from services.worker.registry import IDEMPOTENCY_KEYS
from shared.idempotency import purge_expired

log = logging.getLogger(__name__)


async def purge_idempotency_keys(ctx: dict[str, Any]) -> dict[str, int]:
    """Delete the ``Idempotency-Key`` responses older than their time to live, per schema."""
    worker = worker_context(ctx)
    ttl = timedelta(hours=worker.settings.idempotency_ttl_hours)
    purged: dict[str, int] = {}
    for schema, table in IDEMPOTENCY_KEYS.items():
        async with worker.database.sessionmaker() as session, session.begin():
            purged[schema] = await purge_expired(session, table, ttl)
    log.info("idempotency keys purged: %s", purged)
    return purged
