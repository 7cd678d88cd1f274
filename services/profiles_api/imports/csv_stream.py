"""Reading CSV records from a byte stream as it arrives, without holding the file in memory."""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator

from services.profiles_api.observations.fields import FieldProblem

#: A line and its end, as the csv module sees lines: only CR, LF and CRLF end one.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
#: What ``str.splitlines`` also splits on, though inside a CSV cell it is just text.
_OTHER_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: The longest record kept while waiting for its end: far above any valid row, so a quote
#: that never closes or a file without line breaks is refused without holding all of it.
MAX_RECORD_CHARS = 1_000_000


class CsvProblem(FieldProblem):
    """The file itself cannot be read as CSV (encoding, quoting), at ``row``."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__("file", message)
        self.row = row


class _Records:
    """The iterator a ``csv.reader`` pulls complete records from."""

    def __init__(self) -> None:
        self.queue: deque[str] = deque()

    def __iter__(self) -> _Records:
        return self

    def __next__(self) -> str:
        if not self.queue:
            raise StopIteration
        return self.queue.popleft()


class _Splitter:
    """Cuts decoded text into complete CSV records, even when quoted cells span lines.

    It follows the quoting as the csv module does: a quote opens a quoted cell only at the
    start of a cell, a doubled quote inside one is a literal quote, and a quote anywhere
    else is an ordinary character.
    """

    def __init__(self, records: _Records) -> None:
        self.records = records
        self.open_record = ""  # lines of a record whose quoted cell is not closed yet

    def feed(self, text: str) -> None:
        """Queue the records of ``text``, which ends at a line break (or the end of the file)."""
        lines = _split_lines(text)
        if not self.open_record and '"' not in text:
            self.records.queue.extend(lines)
            return
        for line in lines:
            if not self.open_record and '"' not in line:
                self.records.queue.append(line)
                continue
            in_quotes = _ends_inside_quotes(line, continuing=bool(self.open_record))
            self.open_record += line
            if not in_quotes:
                self.records.queue.append(self.open_record)
                self.open_record = ""


def _split_lines(text: str) -> list[str]:
    """``text`` cut after each CR, LF or CRLF."""
    if any(mark in text for mark in _OTHER_LINE_BREAKS):
        return _LINE.findall(text)
    return text.splitlines(keepends=True)  # much faster than the pattern, same lines here


def _ends_inside_quotes(line: str, *, continuing: bool) -> bool:
    """Whether a record is inside a quoted cell after ``line``.

    ``continuing``: the line continues a quoted cell opened on an earlier line.
    """
    if continuing:
        in_quotes, position = True, 0
    else:
        in_quotes = line.startswith('"')
        position = 1 if in_quotes else 0
    while True:
        if in_quotes:
            quote = line.find('"', position)
            if quote == -1:
                return True
            if line.startswith('"', quote + 1):  # a doubled quote: a literal one
                position = quote + 2
                continue
            in_quotes, position = False, quote + 1
        else:
            # A quote opens a quoted cell only at the start of a cell; elsewhere it is text.
            opening = line.find(',"', position)
            if opening == -1:
                return False
            in_quotes, position = True, opening + 2


def _complete_lines_end(text: str) -> int:
    """Where the last complete line of ``text`` ends (a final CR may still be half a CRLF)."""
    return max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1


async def csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, list[str]]]:
    """``(row number, cells)`` for each non-blank record; the header is row 1.

    A record reaches the csv module only once complete, so quoted cells may span lines and
    chunks. Raises ``CsvProblem`` naming the row when the bytes are not UTF-8 (after yielding
    the rows before the bad byte) or the quoting is broken.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    records = _Records()
    splitter = _Splitter(records)
    reader = csv.reader(records, strict=True)
    partial = ""  # text after the last complete line received so far
    row_no = 0
    received = 0  # bytes of the file received so far

    def parsed() -> Iterator[tuple[int, list[str]]]:
        nonlocal row_no
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CsvProblem(row_no + 1, f"row {row_no + 1} is not valid CSV: {exc}") from exc
            row_no += 1
            if cells:
                yield row_no, cells

    async for chunk in chunks:
        received += len(chunk)
        bad_byte = None
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # What the decoder was given ends where this chunk ends: count back from there.
            bad_byte = received - (len(exc.object) - exc.start) + 1
            text = exc.object[: exc.start].decode("utf-8")
        text = partial + text
        cut = _complete_lines_end(text)
        partial, text = text[cut:], text[:cut]
        splitter.feed(text)
        for item in parsed():
            yield item
        if bad_byte is not None:
            # Every record before the bad byte has been read: it is in the next one.
            raise CsvProblem(row_no + 1, f"the file is not UTF-8 text (byte {bad_byte})")
        if len(splitter.open_record) + len(partial) > MAX_RECORD_CHARS:
            raise CsvProblem(
                row_no + 1,
                f"row {row_no + 1} is longer than {MAX_RECORD_CHARS:,} characters"
                + (" (a quoted cell that never closes?)" if splitter.open_record else ""),
            )
    try:
        rest = partial + decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise CsvProblem(row_no + 1, "the file ends inside a UTF-8 character") from exc
    splitter.feed(rest)
    if splitter.open_record:
        raise CsvProblem(row_no + 1, f"row {row_no + 1} opens a quoted cell that never closes")
    for item in parsed():
        yield item
