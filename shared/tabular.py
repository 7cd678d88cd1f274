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
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: A text a spreadsheet would read as a formula, escaped or not (OWASP's list of first
#: characters; ``'`` is the spreadsheets' own "text follows" mark).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
#: A text escaped by ``escape_text``: one apostrophe or more, then a formula's first character.
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@\t\r]")

Cell = str | float | int | None


def escape_text(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: one more leading ``'`` if it would
    otherwise be a formula (or is an escaped one)."""
    return f"'{text}" if _FORMULA.match(text) else text


def unescape_text(text: str) -> str:
    """The text ``escape_text`` escaped: one leading ``'`` fewer if it is an escaped formula."""
    # Most cells start otherwise: the first test keeps the regular expression off them.
    return text[1:] if text.startswith("'") and _ESCAPED_FORMULA.match(text) else text


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
                if isinstance(value, str):
                    raise TypeError(f"column {column.name!r} takes numbers, not text")
                written.append(number_text(value))
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
