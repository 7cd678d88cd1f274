"""The formats ``GET /v1/observations`` answers in, chosen by ``?format=`` or ``Accept``.

JSON pages are the list itself; every other format is an export of every matching row,
streamed from the batches ``service.export_observations`` reads (small counts already
suppressed) through its writer. A new format is a member of ``OutputFormat`` and an
``ExportFormat`` in ``EXPORTS``; the route, its negotiation and its checks serve it as is.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.profiles_api.observations.export import export_csv
from shared.negotiation import preferred_media_type

#: The batches of JSON-ready observations an export writes.
Batches = AsyncIterator[Sequence[dict[str, Any]]]
JSON = "application/json"


class OutputFormat(enum.StrEnum):
    json = "json"
    csv = "csv"


@dataclass(frozen=True)
class ExportFormat:
    #: The media type ``Accept`` names it by.
    media_type: str
    #: The answer's ``Content-Type``.
    content_type: str
    #: The file's name, for ``Content-Disposition``.
    filename: str
    write: Callable[[Batches], AsyncIterator[bytes]]


EXPORTS: dict[OutputFormat, ExportFormat] = {
    OutputFormat.csv: ExportFormat(
        media_type="text/csv",
        content_type="text/csv; charset=utf-8; header=present",
        filename="observations.csv",
        write=export_csv,
    ),
}


def negotiated(accept: str | None) -> OutputFormat:
    """The format ``Accept`` prefers (JSON, the first, when it names none of them)."""
    offered = {JSON: OutputFormat.json} | {f.media_type: name for name, f in EXPORTS.items()}
    return offered[preferred_media_type(accept, list(offered))]
