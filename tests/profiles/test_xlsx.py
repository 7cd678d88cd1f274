"""XLSX for people who work in spreadsheets: observations, comparisons and editions.

Read back with openpyxl, an independent reader: the figures are the CSV export's, numbers as
numbers in the unit their header names, dates as dates, text escaped as in CSV.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
import xlsxwriter  # type: ignore[import-untyped]
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.repository import ObservationFilter, largest_theme
from services.profiles_api.observations.service import check_export_size
from shared.auth import Role
from shared.errors import ValidationFailed
from shared.tabular import TYPED_WRITERS, typed_writers, unescape_text
from tests.factories import Api, assert_problem, error_fields, observation

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The tidy row both exports give, by column.
TIDY = (
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
NUMBERS = ("value", "value_low", "value_high")
#: The columns a theme sheet leaves to ``Sources``, read there through its ``source_id``.
SOURCE_COLUMNS = {
    "source_title": "title",
    "source_publisher": "publisher",
    "source_url": "url",
    "source_kind": "kind",
}
OTHER_SHEETS = ("Sources", "Notes on data")


def workbook(response: httpx.Response) -> Workbook:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX, response.headers
    return load_workbook(io.BytesIO(response.content))


def csv_rows(text: str) -> list[tuple[Any, ...]]:
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(
            tuple(
                (float(row[name]) if row[name] else None)
                if name in NUMBERS
                else (unescape_text(row[name]) or None)
                for name in TIDY
            )
        )
    return rows


def sheet_rows(book: Workbook, units: dict[str, str]) -> list[tuple[Any, ...]]:
    """The tidy rows of every theme sheet, each value read from its indicator's unit's column
    (which must be the one holding it), and its source's from ``Sources`` by its
    ``source_id``."""
    listed = book["Sources"].iter_rows(values_only=True)
    source_header = list(next(listed))
    sources = {cells[0]: dict(zip(source_header, cells, strict=True)) for cells in listed}
    rows = []
    for sheet in book.worksheets:
        if sheet.title in OTHER_SHEETS:
            continue
        assert sheet.freeze_panes == "A2", (sheet.title, sheet.freeze_panes)
        assert sheet.column_dimensions["A"].width > 0, sheet.title
        header = [cell.value for cell in sheet[1]]
        for cells in sheet.iter_rows(min_row=2, values_only=True):
            cell = dict(zip(header, cells, strict=True))
            assert not set(SOURCE_COLUMNS) & set(header), header  # once, in Sources
            assert isinstance(cell["source_id"], int | float), cell
            source = sources[cell["source_id"]]
            cell |= {name: source[column] for name, column in SOURCE_COLUMNS.items()}
            unit = units[cell["indicator"]]
            held = {name for name in header if "(" in name and cell[name] is not None}
            assert held <= {f"{n} ({unit})" for n in NUMBERS}, (cell, unit)
            assert isinstance(cell["period_start"], datetime), cell
            assert isinstance(cell["period_end"], datetime), cell
            rows.append(
                tuple(
                    cell[f"{name} ({unit})"]
                    if name in NUMBERS
                    else (unescape_text(cell[name]) if isinstance(cell[name], str) else cell[name])
                    for name in TIDY
                )
            )
    return rows


async def indicator_units(api: Api) -> dict[str, str]:
    response = await api.get("/v1/indicators", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {item["code"]: item["unit"] for item in response.json()["items"]}


async def test_the_demo_data_reads_back_from_xlsx_as_from_csv(api: Api) -> None:
    exported = await api.get("/v1/observations", params={"format": "csv"})
    book = workbook(await api.get("/v1/observations", headers={"Accept": XLSX}))

    expected = csv_rows(exported.text)
    read = sheet_rows(book, await indicator_units(api))

    assert len(expected) > 20, len(expected)
    assert sorted(read, key=repr) == sorted(expected, key=repr)
    assert book.sheetnames[-2:] == list(OTHER_SHEETS), book.sheetnames
    assert "Demography" in book.sheetnames, book.sheetnames
    sources = book["Sources"]
    assert [cell.value for cell in sources[1]][:2] == ["source_id", "title"]
    cited = {row[9] for row in expected}
    assert {row[1] for row in sources.iter_rows(min_row=2, values_only=True)} == cited
    notes = [row[0] for row in book["Notes on data"].iter_rows(min_row=2, values_only=True)]
    assert "obs_status" in notes and {row[1] for row in expected} <= set(notes), notes


async def test_text_that_looks_like_a_formula_is_escaped_text_in_xlsx(api: Api) -> None:
    formula = '=HYPERLINK("https://evil.example/","Click")'
    body = {
        "observations": [
            observation(city="ATVIE", indicator="net_migration_rate", period="2032", note=formula)
        ]
    }
    written = await api.post("/v1/observations", json=body, role=Role.admin)
    assert written.status_code == 200, written.text

    book = workbook(
        await api.get(
            "/v1/observations", params={"format": "xlsx", "city": "ATVIE", "period_from": "2032"}
        )
    )

    sheet = book["Demography"]
    header = [cell.value for cell in sheet[1]]
    row = next(sheet.iter_rows(min_row=2))
    note = row[header.index("note")]
    assert (note.value, note.data_type) == ("'" + formula, "s"), (note.value, note.data_type)
    assert row[header.index("period_start")].value == datetime(2032, 1, 1)
    assert row[header.index("period_start")].is_date, row[header.index("period_start")]
    value = row[header.index("value (per_mille)")]
    assert isinstance(value.value, int | float) and value.data_type == "n", value.value


def test_xlsxwriters_typed_cell_writers_are_still_there() -> None:
    """The export calls xlsxwriter's undecorated typed writers (``shared.tabular``): a release
    without them would fall back to the slower public ones, unnoticed but for this test."""
    book = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True})
    sheet = book.add_worksheet()

    assert all(callable(getattr(sheet, name, None)) for name in TYPED_WRITERS), TYPED_WRITERS
    assert typed_writers(sheet)[0] == sheet._write_string
    book.close()


async def test_an_unknown_format_is_refused_naming_format(api: Api) -> None:
    response = await api.get("/v1/observations", params={"format": "ods"})

    problem = assert_problem(response, 422)
    assert "format" in error_fields(problem), problem


async def test_a_comparison_in_xlsx_carries_its_warnings_as_comments_and_a_sheet(
    api: Api,
) -> None:
    params = {"indicator": "foreign_born,foreign_nationals", "cities": "ESMAD,ITTRN,ATVIE"}
    compared = (await api.get("/v1/compare", params=params)).json()
    assert compared["warnings"], compared

    book = workbook(await api.get("/v1/compare", params=params, headers={"Accept": XLSX}))

    assert book.sheetnames == ["Comparison", "Warnings"], book.sheetnames
    sheet = book["Comparison"]
    assert sheet.freeze_panes == "A2", sheet.freeze_panes
    header = [cell.value for cell in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == [v["city"] for v in compared["values"]]
    for row, value in zip(rows, compared["values"], strict=True):
        if value["value"] is not None:
            assert row[header.index(f"value ({value['unit']})")].value == value["value"], value
    commented = {
        (row[0].value, text)
        for row in rows
        for cell in row
        if cell.comment is not None
        for text in cell.comment.text.split("\n")
    }
    expected = {(c, w["detail"]) for w in compared["warnings"] for c in w["cities"]}
    assert commented == expected, commented
    listed = list(book["Warnings"].iter_rows(min_row=2, values_only=True))
    assert [(kind, detail) for kind, detail, _ in listed] == [
        (w["kind"], w["detail"]) for w in compared["warnings"]
    ], listed


async def test_a_comparison_in_an_unknown_format_is_refused_naming_format(api: Api) -> None:
    params = {"indicator": "foreign_born", "cities": "ESMAD", "format": "ods"}

    problem = assert_problem(await api.get("/v1/compare", params=params), 422)

    assert "format" in error_fields(problem), problem


async def test_an_edition_in_xlsx_holds_its_snapshots_figures(api: Api) -> None:
    published = await api.post("/v1/cities/ESMAD/editions", role=Role.admin)
    assert published.status_code == 201, published.text
    url = f"/v1/editions/{published.json()['id']}"
    snapshot = (await api.get(url)).json()["snapshot"]

    book = workbook(await api.get(url, params={"format": "xlsx"}))
    also = await api.get(url, headers={"Accept": XLSX})

    assert also.headers["content-type"] == XLSX, also.headers
    read = []
    for sheet in book.worksheets:
        if sheet.title in OTHER_SHEETS:
            continue
        assert sheet.freeze_panes == "A2", sheet.title
        header = [cell.value for cell in sheet[1]]
        for cells in sheet.iter_rows(min_row=2, values_only=True):
            cell = dict(zip(header, cells, strict=True))
            unit = snapshot["indicators"][cell["indicator"]]["unit"]
            read.append(
                (
                    cell["indicator"],
                    cell["period"],
                    cell["dimension"] or "",
                    cell[f"value ({unit})"],
                )
            )
    expected = [
        (f["indicator"], f["period"], f["disaggregation"], f["value"]) for f in snapshot["figures"]
    ]
    assert sorted(read, key=repr) == sorted(expected, key=repr)
    notes = dict(book["Notes on data"].iter_rows(min_row=2, values_only=True))
    assert published.json()["content_hash"] in notes["Content hash"], notes
    assert notes["Edition"].startswith(published.json()["id"]), notes


async def test_an_export_a_sheet_cannot_hold_is_refused_before_its_first_byte(
    api: Api, session: AsyncSession
) -> None:
    madrid = ObservationFilter(cities=["ESMAD"])
    theme, rows = await largest_theme(session, madrid)
    listed = (await api.get("/v1/observations?city=ESMAD&limit=100")).json()["items"]
    themes = (await api.get("/v1/indicators?limit=100")).json()["items"]
    theme_of = {indicator["code"]: indicator["theme"] for indicator in themes}
    counts = Counter(theme_of[item["indicator"]] for item in listed)
    assert rows == counts[theme] == max(counts.values()) > 0, counts

    await check_export_size(session, madrid, rows)  # exactly what a sheet holds: written
    with pytest.raises(ValidationFailed) as refused:
        await check_export_size(session, madrid, rows - 1)
    [error] = refused.value.errors
    assert (error["field"], error["location"]) == ("format", "query")
    assert f"theme {theme} has {rows:,} matching rows" in error["detail"]
