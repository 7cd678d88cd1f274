"""The CSV export of observations, in the tidy format ``POST /v1/imports`` reads back.

The file is written as it is read: batches of rows in keyset order, each batch in its own
short session, so a large export neither sits in memory nor holds a connection while a slow
client downloads it. Small counts are suppressed as in every other read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.profiles_api.observations.fields import ValueStatus
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
)
from services.profiles_api.observations.suppression import Suppression
from shared.pagination import PageParams

#: The import format's columns (``city_figures.csv``), then whether the value is shown.
EXPORT_COLUMNS = (
    "city",
    "indicator",
    "period",
    "scope",
    "dimension",
    "value",
    "value_low",
    "value_high",
    "obs_status",
    "source_title",
    "source_publisher",
    "source_url",
    "source_kind",
    "note",
    "status",
)
#: Rows read per statement.
EXPORT_BATCH_ROWS = 1000


def number_cell(value: float | None) -> str:
    """A value as the import reads it: whole numbers without ``.0``, others exactly."""
    if value is None:
        return ""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _csv_lines(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    criteria: ObservationFilter,
    suppression: Suppression,
    *,
    batch_rows: int = EXPORT_BATCH_ROWS,
) -> AsyncIterator[bytes]:
    """Every observation ``criteria`` select, as CSV: the header, then one chunk per batch."""
    yield _csv_lines([list(EXPORT_COLUMNS)])
    cursor: list[object] | None = None
    while True:
        async with sessionmaker() as session:
            rows = await ObservationRepository.from_session(session).query(
                criteria, PageParams(limit=batch_rows, cursor=cursor)
            )
        batch = rows[:batch_rows]
        lines = []
        for observation, source in batch:
            hidden = suppression.hides_observation(observation)
            lines.append(
                [
                    observation.city_code,
                    observation.indicator_code,
                    observation.period,
                    observation.scope,
                    observation.disaggregation,
                    "" if hidden else number_cell(observation.value),
                    "" if hidden else number_cell(observation.value_low),
                    "" if hidden else number_cell(observation.value_high),
                    observation.obs_status,
                    source.title,
                    source.publisher or "",
                    source.url or "",
                    source.kind,
                    observation.note or "",
                    (ValueStatus.suppressed if hidden else ValueStatus.shown).value,
                ]
            )
        if lines:
            yield _csv_lines(lines)
        if len(rows) <= batch_rows:
            return
        last = batch[-1][0]
        cursor = [last.city_code, last.indicator_code, last.period_start, last.id]
