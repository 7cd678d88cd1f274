"""Tables the platform writes for people to open in spreadsheets, and reads back: one writer.

Every CSV (and, as they come, every XLSX or SDMX-CSV) the platform writes goes through
``TableWriter``, so that every file is safe to open in a spreadsheet and reads back exactly:

- **Text cells are formula-safe.** A text a spreadsheet would run as a formula (it starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, after any apostrophes) gets one more
  leading ``'``, as OWASP advises for CSV injection; spreadsheets show the apostrophe as the
  "this is text" mark. Reading a file back, a text cell that starts with apostrophes followed
  by one of those characters loses one apostrophe (``unescape_text``). The two are inverse, so
  a text that really starts with an apostrophe survives the round trip too.
- **Numbers stay numbers**: numeric columns are never escaped (``-5`` is ``-5``), written as
  the import reads them (whole numbers without ``.0``, others in Python's shortest exact form).
- **XLSX** (``XlsxWorkbook``): the same columns and the same escaping, written with
  xlsxwriter in constant-memory mode (each sheet's rows go to a temporary file as they come,
  so memory stays flat however many rows): numbers as numbers, dates as dates, text as text
  (never a formula, and escaped as in CSV), a bold frozen header row, column widths set.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

import xlsxwriter  # type: ignore[import-untyped]

#: A text a spreadsheet would read as a formula, escaped or not (OWASP's list of first
#: characters; ``'`` is the spreadsheets' own "text follows" mark).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
#: A text escaped by ``escape_text``: one apostrophe or more, then a formula's first character.
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@\t\r]")

Cell = str | float | int | date | None
#: The rows an XLSX sheet holds, its header included.
XLSX_MAX_ROWS = 1_048_576
#: The media type of an XLSX file (``Accept`` names it to ask for one).
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def escape_text(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: one more leading ``'`` if it would
    otherwise be a formula (or is an escaped one)."""
    return f"'{text}" if _FORMULA.match(text) else text


def unescape_text(text: str) -> str:
    """The text ``escape_text`` escaped: one leading ``'`` fewer if it is an escaped formula."""
    # Most cells start otherwise: the first test keeps the regular expression off them.
    return text[1:] if text.startswith("'") and _ESCAPED_FORMULA.match(text) else text


class XlsxLimitError(ValueError):
    """A cell a spreadsheet cannot hold (past its 1,048,576 rows, or a text over 32,767
    characters)."""


def number_text(value: float | int | None) -> str:
    """A number as the import reads it: whole numbers without ``.0``, others exactly."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, and whether its cells are numbers or text."""

    name: str
    numeric: bool = False
    #: Dates (``datetime.date``): ISO 8601 text in CSV, date cells in XLSX.
    dated: bool = False
    #: The column's width in an XLSX sheet, in characters.
    width: float = 14


class TableWriter:
    """Writes rows of ``columns`` as CSV (RFC 4180, CRLF, UTF-8 without BOM), escaping text."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = tuple(columns)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def cells(self, row: Sequence[Cell]) -> list[str]:
        """The text of each cell of ``row``, as written."""
        if len(row) != len(self.columns):
            raise ValueError(f"a row of {len(row)} cells for {len(self.columns)} columns")
        written = []
        for column, value in zip(self.columns, row, strict=True):
            if column.numeric:
                if isinstance(value, str | date):
                    raise TypeError(f"column {column.name!r} takes numbers, not text")
                written.append(number_text(value))
            elif column.dated and isinstance(value, date):
                written.append(value.isoformat())
            else:
                written.append("" if value is None else escape_text(str(value)))
        return written

    def header_csv(self) -> bytes:
        """The header line (names are the platform's own: never escaped)."""
        return self._csv([self.names])

    def rows_csv(self, rows: Iterable[Sequence[Cell]]) -> bytes:
        """The lines of ``rows``."""
        return self._csv(self.cells(row) for row in rows)

    @staticmethod
    def _csv(rows: Iterable[list[str]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        return buffer.getvalue().encode()


#: The characters a sheet's name may not hold, and its longest length (Excel's rules).
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_LENGTH = 31


def sheet_name(text: str) -> str:
    """``text`` as a valid sheet name: without ``[]:*?/\\``, at most 31 characters."""
    return _SHEET_NAME_FORBIDDEN.sub(" ", text).strip()[:SHEET_NAME_LENGTH] or "Sheet"


class XlsxWorkbook:
    """An XLSX workbook written row by row in constant memory, to ``target`` (a path or a
    binary file) when closed. Its sheets (``sheet``) may be filled at the same time, each in
    its own row order."""

    def __init__(self, target: str | IO[bytes], *, tmpdir: str | None = None) -> None:
        options: dict[str, Any] = {
            "constant_memory": True,
            # Text is never read as a formula, a number or a link: it is written as text.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        }
        if tmpdir is not None:
            options["tmpdir"] = tmpdir
        self._book = xlsxwriter.Workbook(target, options)
        self._header = self._book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._text = self._book.add_format({"text_wrap": True, "valign": "top"})

    def sheet(self, name: str, table: TableWriter) -> XlsxSheet:
        """A new sheet named ``name`` (made valid) whose first row is ``table``'s header,
        frozen, with its columns' widths."""
        worksheet = self._book.add_worksheet(sheet_name(name))
        return XlsxSheet(worksheet, table, date_format=self._date, header_format=self._header)

    def notes(self, name: str, rows: Iterable[tuple[str, str]]) -> None:
        """A sheet of two wrapped text columns (a topic and its note), for readers."""
        table = TableWriter([Column("topic", width=28), Column("note", width=100)])
        sheet = self.sheet(name, table)
        sheet.write_rows(rows, cell_format=self._text)

    def close(self) -> None:
        """Write the file."""
        self._book.close()


#: The kinds of a sheet's columns, as ``XlsxSheet.write_rows`` writes them.
_TEXT, _NUMBER, _DATE = "text", "number", "date"
#: The first characters of the texts ``escape_text`` may change (the others never are).
_FORMULA_FIRST = frozenset("'=+-@\t\r")
#: xlsxwriter's typed cell writers without its ``@convert_cell_args`` decorator (which tries
#: ``int()`` of the row to allow A1 notation): about a tenth of an export's time. They are
#: private (present from 1.x to 3.x, tested in tests/profiles/test_xlsx.py); the public ones
#: stand in should a release drop them.
TYPED_WRITERS = ("_write_string", "_write_number", "_write_datetime")


def typed_writers(worksheet: Any) -> tuple[Any, Any, Any]:
    """``worksheet``'s writers of a text, a number and a date, undecorated if it has them."""
    private = [getattr(worksheet, name, None) for name in TYPED_WRITERS]
    if all(callable(writer) for writer in private):
        return private[0], private[1], private[2]
    return worksheet.write_string, worksheet.write_number, worksheet.write_datetime


class XlsxSheet:
    """One sheet of an ``XlsxWorkbook``: rows of a ``TableWriter``'s columns, escaped as CSV
    escapes them; numbers and dates typed."""

    def __init__(
        self, worksheet: Any, table: TableWriter, *, date_format: Any, header_format: Any
    ) -> None:
        self._worksheet = worksheet
        self._table = table
        self._date = date_format
        self._kinds = tuple(
            _NUMBER if column.numeric else _DATE if column.dated else _TEXT
            for column in table.columns
        )
        self._writers = typed_writers(worksheet)
        self.row = 0
        for index, column in enumerate(table.columns):
            worksheet.set_column(index, index, column.width, date_format if column.dated else None)
            worksheet.write_string(0, index, column.name, header_format)
        worksheet.freeze_panes(1, 0)

    def write_rows(self, rows: Iterable[Sequence[Cell]], *, cell_format: Any = None) -> None:
        """Append ``rows`` below the rows written so far."""
        # The innermost loop of an export (a million rows are ten million cells): each
        # column's kind is known beforehand, and the cells go to xlsxwriter's typed writers
        # without the A1-notation decorator of its public ones (``typed_writers``).
        columns = self._table.columns
        kinds = self._kinds
        width = len(kinds)
        write_string, write_number, write_datetime = self._writers
        date_format = self._date
        at = self.row
        try:
            for row in rows:
                if len(row) != width:
                    raise ValueError(f"a row of {len(row)} cells for {width} columns")
                at += 1
                for index, value in enumerate(row):
                    if value is None or value == "":  # an empty cell, as in CSV
                        continue
                    kind = kinds[index]
                    if kind is _NUMBER:
                        if isinstance(value, str | date):
                            raise TypeError(
                                f"column {columns[index].name!r} takes numbers, not text"
                            )
                        written = write_number(at, index, value)
                    elif kind is _DATE and isinstance(value, date):
                        written = write_datetime(at, index, value, date_format)
                    else:
                        text = value if value.__class__ is str else str(value)
                        if text[0] in _FORMULA_FIRST:  # the few that may need escaping
                            text = escape_text(text)
                        written = write_string(at, index, text, cell_format)
                    if written != 0:
                        # xlsxwriter refuses quietly (past the sheet's last row, a text over
                        # 32,767 characters): a file missing cells must not be delivered.
                        raise XlsxLimitError(
                            f"cell {columns[index].name!r} of row {at} not written "
                            f"(xlsxwriter code {written}): past what a sheet holds"
                        )
        finally:
            self.row = at

    def comment(self, column: int, text: str) -> None:
        """A comment on the last row written, in ``column`` (its position)."""
        self._worksheet.write_comment(self.row, column, text, {"x_scale": 2, "y_scale": 2})
