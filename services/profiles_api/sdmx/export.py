"""The SDMX-CSV 2.0 export of observations, against ``MC2CM:CITY_MIGRATION``.

Written by the platform's one table writer (``shared.tabular``), so text attributes carry the
same reversible formula escape as the CSV export and numbers are written as it writes them.
A suppressed value is written as SDMX marks a confidential one: ``OBS_VALUE`` (and its
bounds) empty, ``CONF_STATUS`` ``C``. Rows are written batch by batch as they are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from services.profiles_api.sdmx.catalogue import (
    ATTRIBUTES,
    CONFIDENTIAL,
    FREE,
    MEASURE,
    STRUCTURE_ID,
    Catalogue,
)
from shared.tabular import Cell, Column, TableWriter

MEDIA_TYPE = "application/vnd.sdmx.data+csv;version=2.0.0"
_NUMBERS = frozenset({MEASURE, "OBS_VALUE_LOW", "OBS_VALUE_HIGH"})
#: The action of exported rows: "information", which an import upserts as they are.
EXPORT_ACTION = "I"


def sdmx_table(catalogue: Catalogue) -> TableWriter:
    """The SDMX-CSV table of ``catalogue``'s structure."""
    return TableWriter([Column(name, numeric=name in _NUMBERS) for name in catalogue.csv_columns])


def _cells(catalogue: Catalogue, item: dict[str, Any]) -> list[Cell]:
    indicator = item["indicator"]
    entry = catalogue.indicators.get(indicator)
    suppressed = item["status"] == "suppressed"
    attributes: dict[str, Cell] = {
        "OBS_STATUS": item["obs_status"],
        "UNIT_MEASURE": entry.unit if entry else None,
        "SOURCE": item["source"]["title"],
        "OBS_VALUE_LOW": item["value_low"],
        "OBS_VALUE_HIGH": item["value_high"],
        "COMMENT": item["note"],
        "CONF_STATUS": CONFIDENTIAL if suppressed else FREE,
    }
    return [
        "dataflow",
        STRUCTURE_ID,
        EXPORT_ACTION,
        item["city"],
        indicator,
        item["scope"],
        *catalogue.breakdown_cells(indicator, item["dimensions"]),
        item["period"],
        item["value"],
        *(attributes[name] for name in ATTRIBUTES),
    ]


#: A writer of an export: the bytes of the batches of JSON-ready observations.
ExportWrite = Callable[[AsyncIterator[Sequence[dict[str, Any]]]], AsyncIterator[bytes]]


def sdmx_csv_writer(catalogue: Catalogue) -> ExportWrite:
    """The export of observations as SDMX-CSV 2.0 rows of ``catalogue``'s structure."""
    table = sdmx_table(catalogue)

    async def write(batches: AsyncIterator[Sequence[dict[str, Any]]]) -> AsyncIterator[bytes]:
        yield table.header_csv()
        async for batch in batches:
            if batch:
                yield table.rows_csv([_cells(catalogue, item) for item in batch])

    return write
