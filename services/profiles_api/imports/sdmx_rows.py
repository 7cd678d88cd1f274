"""SDMX-CSV 2.0 rows of ``MC2CM:CITY_MIGRATION`` as rows of the tidy import format.

An SDMX-CSV import goes through the one import pipeline: each row is translated into the
tidy format's cells (the text still escaped as written: the pipeline unescapes it), and a
rejected tidy column is reported by the SDMX column it came from. ``SOURCE`` names a source
by its title: the source of that title when there is exactly one, else a new one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.fields import FieldProblem, ObsStatus, ValueStatus
from services.profiles_api.sdmx import service as sdmx
from services.profiles_api.sdmx.catalogue import (
    CONFIDENTIAL,
    FREE,
    NOT_APPLICABLE,
    STRUCTURE_ID,
    TOTAL,
    Catalogue,
    breakdown_id,
)
from shared.errors import ValidationFailed
from shared.tabular import unescape_text

MEDIA_TYPE = "application/vnd.sdmx.data+csv"
#: The tidy columns a translated row has, in this order.
TIDY_HEADER = [
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
    "source_id",
    "note",
    "status",
]
_SDMX_OF_TIDY = {
    "city": "REF_AREA",
    "indicator": "INDICATOR",
    "period": "TIME_PERIOD",
    "scope": "SCOPE",
    "value": "OBS_VALUE",
    "value_low": "OBS_VALUE_LOW",
    "value_high": "OBS_VALUE_HIGH",
    "obs_status": "OBS_STATUS",
    "source_title": "SOURCE",
    "source_id": "SOURCE",
    "note": "COMMENT",
    "status": "CONF_STATUS",
}
REQUIRED = (
    "STRUCTURE",
    "STRUCTURE_ID",
    "REF_AREA",
    "INDICATOR",
    "SCOPE",
    "TIME_PERIOD",
    "OBS_VALUE",
    "SOURCE",
)
UPSERT_ACTIONS = frozenset({"I", "A", "M", "R"})
WITHDRAW = "D"


class SdmxRows:
    """Translates the rows of one SDMX-CSV file for the tidy pipeline."""

    def __init__(self, catalogue: Catalogue, sources: dict[str, list[int]]) -> None:
        self.catalogue = catalogue
        self.sources = sources
        self.breakdowns = {breakdown_id(name): name for name in catalogue.breakdowns}
        self.index: dict[str, int] = {}
        self.breakdown_column = ""  # the current row's first broken-down dimension

    @classmethod
    async def load(cls, session: AsyncSession) -> SdmxRows:
        return cls(await sdmx.load_catalogue(session), await sdmx.source_ids_by_title(session))

    def check_header(self, cells: list[str]) -> None:
        """422 listing the header's unknown, repeated and missing columns."""
        header = [cell.strip() for cell in cells]
        known = set(self.catalogue.csv_columns)
        errors = []
        for position, name in enumerate(header):
            if name not in known:
                detail = "is not a column of MC2CM:CITY_MIGRATION (GET /v1/sdmx/structure)"
                errors.append((name or f"column {position + 1}", detail))
            elif header.index(name) != position:
                errors.append((name, "appears twice"))
        errors += [(name, "required column is missing") for name in REQUIRED if name not in header]
        if errors:
            raise ValidationFailed(
                "The header row does not match SDMX-CSV 2.0 of MC2CM:CITY_MIGRATION "
                f"(required: {', '.join(REQUIRED)}).",
                errors=[
                    {"row": 1, "column": c, "field": c, "location": "row", "detail": d}
                    for c, d in errors
                ],
            )
        self.index = {name: position for position, name in enumerate(header)}

    def _cell(self, cells: list[str], column: str) -> str:
        position = self.index.get(column)
        return "" if position is None else cells[position]

    def column(self, tidy: str) -> str:
        """The SDMX column a rejected tidy column came from."""
        if tidy in ("dimension", "dimensions"):
            return self.breakdown_column or next(iter(self.breakdowns), "SCOPE")
        return _SDMX_OF_TIDY.get(tidy, tidy)

    def translate(self, cells: list[str]) -> tuple[str, list[str]]:
        """The row's action and its tidy cells; ``FieldProblem`` naming an SDMX column."""
        if len(cells) != len(self.index):
            raise FieldProblem(
                "row", f"has {len(cells)} cells where the header has {len(self.index)}"
            )
        cell = self._cell
        if cell(cells, "STRUCTURE").strip().lower() != "dataflow":
            raise FieldProblem("STRUCTURE", "must be dataflow")
        if cell(cells, "STRUCTURE_ID").strip() != STRUCTURE_ID:
            raise FieldProblem("STRUCTURE_ID", f"must be {STRUCTURE_ID}")
        action = cell(cells, "ACTION").strip().upper() or "I"
        if action not in UPSERT_ACTIONS and action != WITHDRAW:
            raise FieldProblem("ACTION", f"{action!r} is not I, A, M, R or D")
        indicator = cell(cells, "INDICATOR").strip()
        dimensions, self.breakdown_column = [], ""
        for column, name in self.breakdowns.items():
            code = unescape_text(cell(cells, column).strip())
            if code and code not in (TOTAL, NOT_APPLICABLE):
                self.breakdown_column = self.breakdown_column or column
                dimensions.append(f"{name}={code}")
        entry = self.catalogue.indicators.get(indicator)
        unit = cell(cells, "UNIT_MEASURE").strip()
        if entry and unit and unit != entry.unit:
            raise FieldProblem(
                "UNIT_MEASURE", f"{indicator} is counted in {entry.unit}, not {unit}"
            )
        confidentiality = cell(cells, "CONF_STATUS").strip()
        if confidentiality not in ("", FREE, CONFIDENTIAL):
            raise FieldProblem(
                "CONF_STATUS", f"{confidentiality!r} is not {FREE} or {CONFIDENTIAL}"
            )
        withdraw = action == WITHDRAW
        source_id = self.source_id(cell(cells, "SOURCE"), withdraw=withdraw)
        value_cells = (
            ("", "", "")
            if withdraw
            else (
                cell(cells, "OBS_VALUE"),
                cell(cells, "OBS_VALUE_LOW"),
                cell(cells, "OBS_VALUE_HIGH"),
            )
        )
        shown = ValueStatus.suppressed if confidentiality == CONFIDENTIAL else ValueStatus.shown
        return action, [
            cell(cells, "REF_AREA"),
            indicator,
            cell(cells, "TIME_PERIOD"),
            cell(cells, "SCOPE"),
            ";".join(dimensions),
            *value_cells,
            ObsStatus.M.value if withdraw else cell(cells, "OBS_STATUS"),
            cell(cells, "SOURCE"),
            "" if source_id is None else str(source_id),
            "" if withdraw else cell(cells, "COMMENT"),
            ValueStatus.shown.value if withdraw else shown.value,
        ]

    def source_id(self, text: str, *, withdraw: bool) -> int | None:
        """The existing source a ``SOURCE`` cell names (``None``: a new source, by its title)."""
        title = unescape_text(text.strip())
        ids = self.sources.get(title, [])
        if len(ids) > 1:
            raise FieldProblem(
                "SOURCE", f"{len(ids)} sources are titled {title!r}: give each a distinct title"
            )
        if not ids and withdraw:
            raise FieldProblem("SOURCE", f"no source is titled {title!r}: nothing to withdraw")
        return ids[0] if ids else None
