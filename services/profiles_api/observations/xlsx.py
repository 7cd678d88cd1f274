"""The XLSX export of observations: one sheet per theme, then ``Sources`` and ``Notes on data``.

The rows are the CSV export's (the list's items as the caller reads them, small counts
already suppressed), written through the platform's one table writer (``shared.tabular``),
so text is escaped exactly as in CSV. A theme's sheet has one value column (with its range)
per unit of the theme's indicators, named by the unit (``value (persons)``), so numbers stay
numbers and every number's unit is in its header. What repeats on every row of the CSV is
written once: a row's source is its ``source_id`` in ``Sources`` (title, publisher, URL,
kind), its indicator's name a line of ``Notes on data``; every cell costs xlsxwriter about as
much as a CSV export's whole row. The batches come ordered by city and
indicator, not by theme: every theme's sheet is filled at once, each in its own row order,
which xlsxwriter's constant-memory mode allows; the workbook is written to a temporary file
and streamed from there when complete, so memory stays flat however many rows.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.fields import dimension_text
from services.profiles_api.sources.models import Source
from shared.contracts.themes import THEMES, Theme
from shared.tabular import Cell, Column, TableWriter, XlsxSheet, XlsxWorkbook

THEME_CODES = frozenset(theme.value for theme in Theme)
Batches = AsyncIterator[Sequence[dict[str, Any]]]
CHUNK = 256 * 1024

#: The columns of a theme's sheet before its value columns, and after them.
LEADING = (
    Column("city", width=8),
    Column("indicator", width=24),
    Column("period", width=10),
    Column("period_start", dated=True, width=12),
    Column("period_end", dated=True, width=12),
    Column("scope", width=14),
    Column("dimension", width=30),
)
TRAILING = (
    Column("obs_status", width=10),
    Column("status", width=11),
    Column("source_id", numeric=True, width=10),
    Column("note", width=40),
)
SOURCES_TABLE = TableWriter(
    [
        Column("source_id", numeric=True, width=10),
        Column("title", width=50),
        Column("publisher", width=30),
        Column("url", width=40),
        Column("kind", width=14),
        Column("reliability_rank", numeric=True, width=10),
        Column("licence", width=20),
        Column("accessed_on", dated=True, width=12),
    ]
)
NOTES = (
    (
        "This file",
        "Observations of the MC2CM city migration profiles, as GET /v1/observations answers "
        "them: one sheet per theme, the sources the figures cite (Sources) and these notes.",
    ),
    (
        "source_id",
        "The source of a row: its line in Sources (title, publisher, URL, kind), which the "
        "CSV export repeats on every row as source_title, source_publisher, source_url and "
        "source_kind.",
    ),
    (
        "indicator",
        "The indicator's code; its name, unit and description are below, a line each.",
    ),
    (
        "Values",
        "Numbers are in the unit named in their column's header: a figure fills the value "
        "columns of its indicator's unit (value_low and value_high when it is a range).",
    ),
    (
        "obs_status",
        "SDMX observation status: A normal, B break in series, D definition differs, "
        "E estimated, F forecast, I imputed, M missing, P provisional, U low reliability.",
    ),
    (
        "status",
        "suppressed: a breakdown of a count below the suppression threshold, whose value and "
        "range are left empty; shown otherwise.",
    ),
    (
        "Leading apostrophe",
        "A text that would start like a formula (=, +, -, @) is written with one more leading "
        "apostrophe, so no spreadsheet runs it; drop one to read the original text.",
    ),
)


def units_header(unit: str) -> tuple[Column, Column, Column]:
    """The value columns of a unit."""
    return (
        Column(f"value ({unit})", numeric=True, width=14),
        Column(f"value_low ({unit})", numeric=True, width=14),
        Column(f"value_high ({unit})", numeric=True, width=14),
    )


@dataclass(frozen=True)
class IndicatorInfo:
    name: str
    theme: str
    unit: str
    population_concept: str | None
    description: str


@dataclass(frozen=True)
class SourceInfo:
    id: int
    title: str
    publisher: str | None
    url: str | None
    kind: str
    reliability_rank: int | None
    licence: str | None = None
    accessed_on: date | None = None

    @classmethod
    def of(cls, source: Source) -> SourceInfo:
        return cls(
            id=source.id,
            title=source.title,
            publisher=source.publisher,
            url=source.url,
            kind=str(source.kind),
            reliability_rank=source.reliability_rank,
            licence=source.licence,
            accessed_on=source.accessed_on,
        )


@dataclass(frozen=True)
class Catalogue:
    """What the sheets say beside the observations: indicators and sources."""

    indicators: dict[str, IndicatorInfo]
    sources: dict[int, SourceInfo]

    def theme_units(self, theme: str) -> list[str]:
        """The units of ``theme``'s indicators, in the catalogue's order of units."""
        used = {info.unit for info in self.indicators.values() if info.theme == theme}
        return [unit.value for unit in Unit if unit.value in used]


async def load_catalogue(session: AsyncSession) -> Catalogue:
    """The indicators and sources, read once before the export's batches."""
    indicators = {
        indicator.code: IndicatorInfo(
            name=indicator.names.get("en") or indicator.code,
            theme=indicator.theme,
            unit=str(indicator.unit),
            population_concept=indicator.population_concept,
            description=(indicator.descriptions or {}).get("en", ""),
        )
        for indicator in await session.scalars(select(Indicator))
    }
    sources = {source.id: SourceInfo.of(source) for source in await session.scalars(select(Source))}
    return Catalogue(indicators, sources)


class ThemeSheet:
    """A theme's sheet: its table and the position of each unit's value columns."""

    def __init__(self, book: XlsxWorkbook, theme: str, units: list[str]) -> None:
        columns = [*LEADING]
        self.offsets: dict[str, int] = {}
        for unit in units:
            self.offsets[unit] = len(columns)
            columns.extend(units_header(unit))
        columns.extend(TRAILING)
        self.width = len(columns)
        info = THEMES.get(Theme(theme)) if theme in THEME_CODES else None
        name = info.names["en"] if info is not None else theme
        self.sheet: XlsxSheet = book.sheet(name, TableWriter(columns))

    def write(self, item: dict[str, Any], info: IndicatorInfo) -> None:
        cells: list[Cell] = [
            item["city"],
            item["indicator"],
            item["period"],
            _day(item["period_start"]),
            _day(item["period_end"]),
            item["scope"],
            dimension_text(item["dimensions"]),
        ]
        cells.extend([None] * (self.width - len(LEADING) - len(TRAILING)))
        at = self.offsets[info.unit]
        cells[at : at + 3] = [item["value"], item["value_low"], item["value_high"]]
        cells.extend(
            [
                item["obs_status"],
                item["status"],
                item["source"]["id"],
                item["note"],
            ]
        )
        self.sheet.write_rows((cells,))


def indicator_note(info: IndicatorInfo) -> str:
    """What ``Notes on data`` says of an indicator: its name, unit, concept, description."""
    concept = f"; population concept: {info.population_concept}" if info.population_concept else ""
    described = f". {info.description}" if info.description else ""
    return f"{info.name} ({info.unit}{concept}){described}"


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


class ObservationWorkbook:
    """The export's workbook, filled batch by batch (in a worker thread: it is CPU work)."""

    def __init__(
        self, target: IO[bytes], catalogue: Catalogue, notes: Sequence[tuple[str, str]] = ()
    ) -> None:
        self.book = XlsxWorkbook(target)
        self.catalogue = catalogue
        #: What ``Notes on data`` says first (an edition names itself there).
        self.notes = notes
        self.sheets: dict[str, ThemeSheet] = {}
        self.sources: set[int] = set()
        self.indicators: set[str] = set()

    def write(self, batch: Sequence[dict[str, Any]]) -> None:
        indicators = self.catalogue.indicators
        for item in batch:
            info = indicators[item["indicator"]]
            sheet = self.sheets.get(info.theme)
            if sheet is None:
                sheet = ThemeSheet(self.book, info.theme, self.catalogue.theme_units(info.theme))
                self.sheets[info.theme] = sheet
            sheet.write(item, info)
            self.sources.add(item["source"]["id"])
            self.indicators.add(item["indicator"])

    def close(self) -> None:
        """The ``Sources`` and ``Notes on data`` sheets, then the file."""
        if not self.sheets:  # no figure: one empty theme sheet shows the columns
            first = next(iter(Theme))
            self.sheets[first] = ThemeSheet(self.book, first, self.catalogue.theme_units(first))
        sources = self.book.sheet("Sources", SOURCES_TABLE)
        for source_id in sorted(self.sources):
            source = self.catalogue.sources.get(source_id)
            if source is not None:
                sources.write_rows(
                    [
                        [
                            source.id,
                            source.title,
                            source.publisher,
                            source.url,
                            source.kind,
                            source.reliability_rank,
                            source.licence,
                            source.accessed_on,
                        ]
                    ]
                )
        indicators = self.catalogue.indicators
        self.book.notes(
            "Notes on data",
            [
                *self.notes,
                *NOTES,
                *((code, indicator_note(indicators[code])) for code in sorted(self.indicators)),
            ],
        )
        self.book.close()


async def stream_file(handle: IO[bytes]) -> AsyncIterator[bytes]:
    """The bytes of ``handle`` from its start, in chunks; closes it."""
    try:
        await asyncio.to_thread(handle.seek, 0)
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


#: XLSX files assembled at once by one process: each takes CPU and room in /tmp (its
#: sheets' XML, then the zip), so more wait their turn.
CONCURRENT_BUILDS = 2
_BUILDS = anyio.CapacityLimiter(CONCURRENT_BUILDS)


def xlsx_writer(catalogue: Catalogue) -> Callable[[Batches], AsyncIterator[bytes]]:
    """The XLSX export's writer for ``catalogue``."""

    async def export_xlsx(batches: Batches) -> AsyncIterator[bytes]:
        handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stream_file)
        try:
            async with _BUILDS:
                workbook = ObservationWorkbook(handle, catalogue)
                async for batch in batches:
                    if batch:
                        await asyncio.to_thread(workbook.write, batch)
                await asyncio.to_thread(workbook.close)
        except BaseException:
            handle.close()
            raise
        async for chunk in stream_file(handle):
            yield chunk

    return export_xlsx


async def load_xlsx_writer(session: AsyncSession) -> Callable[[Batches], AsyncIterator[bytes]]:
    """The XLSX writer, with the catalogue read on ``session`` (the request's)."""
    return xlsx_writer(await load_catalogue(session))
