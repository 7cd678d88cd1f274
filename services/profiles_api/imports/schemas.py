from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

#: Columns of the tidy import format (``city_figures.csv``); the first six are required.
#: ``status`` is what the CSV export adds (``shown`` or ``suppressed``), so an export
#: reads back as it is.
REQUIRED_COLUMNS = ("city", "indicator", "period", "scope", "value", "source_title")
OPTIONAL_COLUMNS = (
    "dimension",
    "value_low",
    "value_high",
    "obs_status",
    "source_publisher",
    "source_url",
    "source_kind",
    "note",
    "status",
)


class ImportResult(BaseModel):
    import_id: uuid.UUID = Field(description="Recorded in the history of every value it changed.")
    dry_run: bool
    status: str = Field(description="`applied`, or `validated` for a dry run.")
    rows: int = Field(description="Data rows read (the header is not counted).")
    inserted: int
    updated: int
    unchanged: int
    sources_created: int
    withdrawn: int = Field(
        default=0, description="Observations withdrawn by SDMX-CSV rows of `ACTION` `D`."
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Things worth knowing that did not stop the import, e.g. a row describing "
        "an existing source differently (the existing description is kept).",
    )
