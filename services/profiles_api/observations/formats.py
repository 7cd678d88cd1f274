"""The formats ``GET /v1/observations`` answers in, chosen by ``?format=`` or ``Accept``.

JSON pages are the list itself; every other format is an export of every matching row,
streamed from the batches ``service.export_observations`` reads (small counts already
suppressed) through its writer. A new format is a member of ``OutputFormat`` and an
``ExportFormat`` in ``EXPORTS``; the route, its negotiation and its checks serve it as is.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.export import export_csv
from services.profiles_api.observations.xlsx import load_xlsx_writer
from services.profiles_api.sdmx.export import MEDIA_TYPE as SDMX_CSV
from services.profiles_api.sdmx.service import sdmx_csv_export
from shared.negotiation import preferred_media_type
from shared.tabular import XLSX_MAX_ROWS, XLSX_MEDIA_TYPE

#: The batches of JSON-ready observations an export writes.
Batches = AsyncIterator[Sequence[dict[str, Any]]]
Writer = Callable[[Batches], AsyncIterator[bytes]]
JSON = "application/json"
XLSX = XLSX_MEDIA_TYPE


class OutputFormat(enum.StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    sdmx_csv = "sdmx-csv"


@dataclass(frozen=True)
class ExportFormat:
    #: The media type ``Accept`` names it by.
    media_type: str
    #: The answer's ``Content-Type``.
    content_type: str
    #: The file's name, for ``Content-Disposition``.
    filename: str
    #: Writes the batches; or else ``load`` gives the writer.
    write: Writer | None = None
    #: Reads, on the request's session, what the writer needs beside the rows (the XLSX
    #: sheets need the catalogue's themes and units) and gives the writer.
    load: Callable[[AsyncSession], Awaitable[Writer]] | None = None
    #: The most rows one theme may have in this format (an XLSX sheet's), if limited: a
    #: larger export is refused before its first byte rather than cut short.
    max_theme_rows: int | None = None

    async def writer(self, session: AsyncSession) -> Writer:
        """The format's writer, ready for the batches."""
        if self.load is not None:
            return await self.load(session)
        assert self.write is not None, "an export format has write or load"
        return self.write


EXPORTS: dict[OutputFormat, ExportFormat] = {
    OutputFormat.csv: ExportFormat(
        media_type="text/csv",
        content_type="text/csv; charset=utf-8; header=present",
        filename="observations.csv",
        write=export_csv,
    ),
    OutputFormat.xlsx: ExportFormat(
        media_type=XLSX,
        content_type=XLSX,
        filename="observations.xlsx",
        load=load_xlsx_writer,
        max_theme_rows=XLSX_MAX_ROWS - 1,
    ),
    OutputFormat.sdmx_csv: ExportFormat(
        media_type=SDMX_CSV,
        content_type=f"{SDMX_CSV}; charset=utf-8",
        filename="observations.sdmx.csv",
        load=sdmx_csv_export,
    ),
}


def negotiated(accept: str | None) -> OutputFormat:
    """The format ``Accept`` prefers (JSON, the first, when it names none of them)."""
    offered = {JSON: OutputFormat.json} | {f.media_type: name for name, f in EXPORTS.items()}
    return offered[preferred_media_type(accept, list(offered))]
