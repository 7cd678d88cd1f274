"""Reading CSV records from a byte stream as it arrives, without holding the file in memory."""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator

from services.profiles_api.observations.fields import FieldProblem


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
    """Cuts decoded text into complete CSV records, even when quoted cells span lines."""

    def __init__(self, records: _Records) -> None:
        self.records = records
        self.open_record = ""  # lines of a record whose quoted cell is not closed yet

    def feed(self, text: str) -> None:
        """Queue the records of ``text``, which ends at a line break."""
        for line in text.splitlines(keepends=True) if "\r" in text else _lines(text):
            if self.open_record or '"' in line:
                self.open_record += line
                if self.open_record.count('"') % 2 == 0:
                    self.records.queue.append(self.open_record)
                    self.open_record = ""
            else:
                self.records.queue.append(line)


def _lines(text: str) -> Iterator[str]:
    start = 0
    while (end := text.find("\n", start)) != -1:
        yield text[start : end + 1]
        start = end + 1
    if start < len(text):
        yield text[start:]


async def csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, list[str]]]:
    """``(row number, cells)`` for each non-blank record; the header is row 1.

    A record reaches the csv module only once complete (an even number of quote
    characters), so quoted cells may span lines and chunks. Raises ``CsvProblem`` when
    the bytes are not UTF-8 or the quoting is broken.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    records = _Records()
    splitter = _Splitter(records)
    reader = csv.reader(records, strict=True)
    partial = ""  # text after the last line break received so far
    row_no = 0
    received = 0

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
        try:
            text = partial + decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise CsvProblem(
                row_no + 1, f"the file is not UTF-8 text (byte {received + exc.start + 1})"
            ) from exc
        received += len(chunk)
        cut = text.rfind("\n")
        partial, text = text[cut + 1 :], text[: cut + 1]
        splitter.feed(text)
        for item in parsed():
            yield item
    try:
        rest = partial + decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise CsvProblem(row_no + 1, "the file ends inside a UTF-8 character") from exc
    splitter.feed(rest)
    if splitter.open_record:
        raise CsvProblem(row_no + 1, f"row {row_no + 1} opens a quoted cell that never closes")
    for item in parsed():
        yield item
