"""A comparison as XLSX: the values, each warning as a comment on the cells it is about, and
a ``Warnings`` sheet that lists them all.

Written through the platform's one table writer (``shared.tabular``): text escaped as in
CSV, numbers as numbers under a header naming their unit (one value column per unit, when
the compared indicators differ in unit), a frozen header row.
"""

from __future__ import annotations

import io
from collections import defaultdict

from services.profiles_api.compare.schemas import ComparedValue, Comparison, WarningKind
from shared.tabular import Cell, Column, TableWriter, XlsxWorkbook

LEADING = (
    Column("city", width=8),
    Column("city_name", width=20),
    Column("indicator", width=24),
    Column("population_concept", width=18),
    Column("period", width=10),
    Column("scope", width=14),
)
TRAILING = (
    Column("obs_status", width=10),
    Column("status", width=11),
    Column("estimate", width=9),
    Column("source_title", width=40),
    Column("source_publisher", width=30),
    Column("source_url", width=36),
)
WARNINGS_TABLE = TableWriter(
    [Column("kind", width=20), Column("detail", width=80), Column("cities", width=30)]
)
#: The column (by name) each kind of warning is about; the value where it is about the value.
WARNED_COLUMN = {
    WarningKind.population_concept: "population_concept",
    WarningKind.scope: "scope",
    WarningKind.period: "period",
}
NO_UNIT = "no unit"


def _units(comparison: Comparison) -> list[str]:
    units = list(dict.fromkeys(str(v.unit) for v in comparison.values if v.unit is not None))
    return units or [NO_UNIT]


def comparison_xlsx(comparison: Comparison) -> bytes:
    """The comparison as an XLSX file: sheets ``Comparison`` and ``Warnings``."""
    units = _units(comparison)
    columns = [*LEADING]
    offsets = {}
    for unit in units:
        offsets[unit] = len(columns)
        columns += [
            Column(f"value ({unit})", numeric=True),
            Column(f"value_low ({unit})", numeric=True),
            Column(f"value_high ({unit})", numeric=True),
        ]
    columns += TRAILING
    names = [column.name for column in columns]
    # The comments of each city's row, by column.
    comments: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    unit_of = {v.city: str(v.unit) if v.unit is not None else units[0] for v in comparison.values}
    for warning in comparison.warnings:
        for city in warning.cities:
            named = WARNED_COLUMN.get(warning.kind)
            column = names.index(named) if named else offsets[unit_of.get(city, units[0])]
            comments[city][column].append(warning.detail)

    buffer = io.BytesIO()
    book = XlsxWorkbook(buffer)
    sheet = book.sheet("Comparison", TableWriter(columns))
    for value in comparison.values:
        sheet.write_rows([_cells(value, len(columns), offsets, unit_of[value.city])])
        for column, details in sorted(comments[value.city].items()):
            sheet.comment(column, "\n".join(details))
    warnings = book.sheet("Warnings", WARNINGS_TABLE)
    warnings.write_rows(
        [str(warning.kind), warning.detail, ", ".join(warning.cities)]
        for warning in comparison.warnings
    )
    book.close()
    return buffer.getvalue()


def _cells(value: ComparedValue, width: int, offsets: dict[str, int], unit: str) -> list[Cell]:
    source = value.source
    cells: list[Cell] = [
        value.city,
        value.city_name,
        value.indicator,
        value.population_concept,
        value.period,
        value.scope,
    ]
    cells += [None] * (width - len(LEADING) - len(TRAILING))
    at = offsets[unit]
    cells[at : at + 3] = [value.value, value.value_low, value.value_high]
    cells += [
        str(value.obs_status) if value.obs_status else None,
        str(value.status),
        "yes" if value.estimate else "no",
        source.title if source else None,
        source.publisher if source else None,
        source.url if source else None,
    ]
    return cells
