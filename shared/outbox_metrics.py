"""How far behind the worker is: the outbox events not yet handled, read at scrape time.

``mc2cm_outbox_pending_events{schema}`` counts the events of a schema's outbox whose job has
not finished (``handled_at`` unset, relayed or not); ``mc2cm_outbox_lag_seconds{schema}`` is the
age of the oldest of them (0 when there is none). Each API shows its own schema's, the worker
both. The gauges are set by ``refresh`` just before a scrape renders the registry, with one
query per schema that reads only the two partial indexes of waiting rows
(``ix_outbox_unrelayed``, ``ix_outbox_unhandled``), so its cost follows the backlog, not the
table. When the query fails the schema's samples are removed rather than left stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Select, Table, func, literal_column, select, union_all

from shared.db import Database

log = logging.getLogger(__name__)

#: A scrape waits at most this for the backlog's figures; past it they are left out.
REFRESH_TIMEOUT_SECONDS = 2.0


def pending_statement(table: Table) -> Select[tuple[int, float]]:
    """Count and age in seconds of the oldest of ``table``'s events not yet handled.

    Written as the two kinds of waiting rows, each matching one partial index's predicate,
    rather than ``handled_at IS NULL``, which no index covers.
    """
    waiting = union_all(
        select(table.c.occurred_at).where(
            table.c.relayed_at.is_(None), table.c.handled_at.is_(None)
        ),
        select(table.c.occurred_at).where(
            table.c.relayed_at.is_not(None), table.c.handled_at.is_(None)
        ),
    ).subquery("waiting")
    age = func.extract("epoch", func.now() - func.min(waiting.c.occurred_at))
    return select(
        func.count().label("pending"),
        func.greatest(func.coalesce(age, literal_column("0")), 0).label("lag_seconds"),
    ).select_from(waiting)


class OutboxMetrics:
    """The backlog gauges of some schemas' outboxes, in ``registry``."""

    def __init__(self, registry: CollectorRegistry, outboxes: Mapping[str, Table]) -> None:
        self.outboxes = dict(outboxes)
        self.lag = Gauge(
            "mc2cm_outbox_lag_seconds",
            "Age of the oldest outbox event not yet handled (0 when none waits).",
            ["schema"],
            registry=registry,
        )
        self.pending = Gauge(
            "mc2cm_outbox_pending_events",
            "Outbox events not yet handled, relayed to a job or not.",
            ["schema"],
            registry=registry,
        )

    async def refresh(self, database: Database) -> None:
        """Read each schema's backlog now; a schema that cannot be read shows no sample."""
        for schema, table in self.outboxes.items():
            try:
                async with asyncio.timeout(REFRESH_TIMEOUT_SECONDS):
                    async with database.engine.connect() as connection:
                        row = (await connection.execute(pending_statement(table))).one()
            except Exception as exc:  # a scrape reports what it can, whatever failed
                log.warning("outbox backlog of %s not read: %r", schema, exc)
                for gauge in (self.lag, self.pending):
                    with contextlib.suppress(KeyError):  # never set
                        gauge.remove(schema)
                continue
            self.pending.labels(schema).set(row.pending)
            self.lag.labels(schema).set(float(row.lag_seconds))
