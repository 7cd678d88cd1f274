"""The CSV export of observations, in the tidy format ``POST /v1/imports`` reads back.

Written by the platform's one table writer (``shared.tabular``): text cells that a
spreadsheet would run as formulas are escaped, reversibly. The file is written as it is
read: batches of rows in keyset order, each batch in its own short session, so a large
export neither sits in memory nor holds a connection while a slow client downloads it. Small
counts are suppressed as in every other read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.profiles_api.observations.fields import ValueStatus
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
)
from services.profiles_api.observations.suppression import Suppression
from shared.pagination import PageParams
from shared.tabular import Cell, Column, TableWriter

#: The import format's columns (``city_figures.csv``), then whether the value is shown.
EXPORT_TABLE = TableWriter(
    [
        Column("city"),
        Column("indicator"),
        Column("period"),
        Column("scope"),
        Column("dimension"),
        Column("value", numeric=True),
        Column("value_low", numeric=True),
        Column("value_high", numeric=True),
        Column("obs_status"),
        Column("source_title"),
        Column("source_publisher"),
        Column("source_url"),
        Column("source_kind"),
        Column("note"),
        Column("status"),
    ]
)
EXPORT_COLUMNS = tuple(EXPORT_TABLE.names)
#: Rows read per statement.
EXPORT_BATCH_ROWS = 1000


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    criteria: ObservationFilter,
    suppression: Suppression,
    *,
    batch_rows: int = EXPORT_BATCH_ROWS,
) -> AsyncIterator[bytes]:
    """Every observation ``criteria`` select, as CSV: the header, then one chunk per batch."""
    yield EXPORT_TABLE.header_csv()
    cursor: list[object] | None = None
    while True:
        async with sessionmaker() as session:
            rows = await ObservationRepository.from_session(session).query(
                criteria, PageParams(limit=batch_rows, cursor=cursor)
            )
        batch = rows[:batch_rows]
        lines: list[list[Cell]] = []
        for observation, source in batch:
            hidden = suppression.hides_observation(observation)
            lines.append(
                [
                    observation.city_code,
                    observation.indicator_code,
                    observation.period,
                    observation.scope,
                    observation.disaggregation,
                    None if hidden else observation.value,
                    None if hidden else observation.value_low,
                    None if hidden else observation.value_high,
                    observation.obs_status,
                    source.title,
                    source.publisher,
                    source.url,
                    source.kind,
                    observation.note,
                    (ValueStatus.suppressed if hidden else ValueStatus.shown).value,
                ]
            )
        if lines:
            yield EXPORT_TABLE.rows_csv(lines)
        if len(rows) <= batch_rows:
            return
        last = batch[-1][0]
        cursor = [last.city_code, last.indicator_code, last.period_start, last.id]
