"""The CSV export of observations, in the tidy format ``POST /v1/imports`` reads back.

Written by the platform's one table writer (``shared.tabular``): text cells that a
spreadsheet would run as formulas are escaped, reversibly. The file is written as it is
read: the batches ``service.export_observations`` reads in keyset order, each written as it
comes, so a large export never sits in memory. The rows are the list's items as the caller
reads them (small counts already suppressed by the service): this module only renders them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from services.profiles_api.observations.fields import dimension_text
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


def _cells(item: dict[str, Any]) -> list[Cell]:
    source = item["source"]
    return [
        item["city"],
        item["indicator"],
        item["period"],
        item["scope"],
        dimension_text(item["dimensions"]),
        item["value"],
        item["value_low"],
        item["value_high"],
        item["obs_status"],
        source["title"],
        source["publisher"],
        source["url"],
        source["kind"],
        item["note"],
        item["status"],
    ]


async def export_csv(batches: AsyncIterator[Sequence[dict[str, Any]]]) -> AsyncIterator[bytes]:
    """The observations of ``batches`` (JSON-ready ``ObservationRead``s, as the service gives
    them) as CSV: the header, then one chunk per batch."""
    yield EXPORT_TABLE.header_csv()
    async for batch in batches:
        if batch:
            yield EXPORT_TABLE.rows_csv([_cells(item) for item in batch])
