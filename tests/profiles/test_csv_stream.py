"""``csv_records`` reads the same records however the bytes are cut into chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

import pytest

from services.profiles_api.imports.csv_stream import CsvProblem, csv_records

Records = list[tuple[int, list[str]]]


async def _chunks(data: bytes, cuts: Sequence[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in [*cuts, len(data)]:
        yield data[start:cut]
        start = cut


async def read(data: bytes, cuts: Sequence[int] = ()) -> Records:
    """Every record of ``data`` sent in chunks ending at the offsets ``cuts``."""
    return [record async for record in csv_records(_chunks(data, cuts))]


async def read_bytewise(data: bytes) -> Records:
    return await read(data, range(1, len(data)))


def expected_records(text: str) -> Records:
    """What the csv module reads from the whole text at once (blank lines count as rows)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    return [(number, cells) for number, cells in enumerate(reader, start=1) if cells]


SAMPLES = {
    "quoted comma and newline": (b'city,note\nPTLIS,"Lisbon, capital\nsecond line"\nITTRN,plain\n'),
    "crlf line endings": b"city,note\r\nPTLIS,one\r\nITTRN,two\r\n",
    "crlf inside a quoted cell": b'city,note\r\nPTLIS,"a\r\nb"\r\nITTRN,two\r\n',
    "doubled quotes": b'city,note\nPTLIS,"the ""Lisbon"" figure"\nITTRN,x\n',
    "multi-byte characters": "city,note\nMATNG,طنجة\nFRLYS,Métropole \u2013 Lyon 🙂\n".encode(),
    "byte order mark": "\ufeffcity,note\nFRLYS,été\n".encode(),
    "no final line break": b"city,note\nPTLIS,last",
    "blank lines": b"city,note\n\nPTLIS,a\n\nITTRN,b\n",
    "quote inside an unquoted cell": b'city,note\nPTLIS,a 5" pipe\nITTRN,b\n',
    "quote after a space": b'city,note\nPTLIS, "a\nITTRN,b\n',
    "quoted first cell and empty quoted cell": b'city,note\n"PTLIS",""\n"ITTRN","a""\nb"\n',
    "form feed in a crlf file": b"city,note\r\nPTLIS,a\x0cb\r\nITTRN,c\r\n",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_records_do_not_depend_on_where_chunks_are_cut(name: str) -> None:
    data = SAMPLES[name]
    expected = expected_records(data.decode("utf-8-sig"))
    whole = await read(data)
    assert whole == expected, f"{name}: whole file read as {whole}"
    for cut in range(1, len(data)):
        records = await read(data, [cut])
        assert records == expected, f"{name}: cut at byte {cut} read as {records}"
    bytewise = await read_bytewise(data)
    assert bytewise == expected, f"{name}: one byte at a time read as {bytewise}"


async def test_chunk_boundary_inside_a_quoted_cell_keeps_the_cell_whole() -> None:
    data = b'city,note\nPTLIS,"first, half\nand second half"\nITTRN,x\n'
    cut = data.index(b"half\nand") + 2  # inside the quoted cell, before its line break
    records = await read(data, [cut])
    assert records == [
        (1, ["city", "note"]),
        (2, ["PTLIS", "first, half\nand second half"]),
        (3, ["ITTRN", "x"]),
    ], records


async def test_chunk_boundary_between_cr_and_lf_makes_no_blank_row() -> None:
    data = b"city,note\r\nPTLIS,a\r\nITTRN,b\r\n"
    cut = data.index(b"\r\nITTRN") + 1  # between \r and \n
    records = await read(data, [cut])
    assert records == [(1, ["city", "note"]), (2, ["PTLIS", "a"]), (3, ["ITTRN", "b"])], records


async def test_chunk_boundary_inside_a_multibyte_character_decodes_it() -> None:
    data = "city,note\nMATNG,Tanger\u2013Tétouan\n".encode()
    cut = data.index("\u2013".encode()) + 1  # after the first byte of a three-byte character
    records = await read(data, [cut])
    assert records == [(1, ["city", "note"]), (2, ["MATNG", "Tanger\u2013Tétouan"])], records


async def test_byte_order_mark_cut_in_two_is_dropped() -> None:
    records = await read("\ufeffcity,note\nPTLIS,x\n".encode(), [2])
    assert records[0] == (1, ["city", "note"]), records


async def test_row_numbers_count_records_not_lines() -> None:
    records = await read(b'city,note\nPTLIS,"two\nlines"\nITTRN,x\n')
    assert [number for number, _ in records] == [1, 2, 3], records


async def test_crlf_file_keeps_other_line_separators_inside_a_cell() -> None:
    # Only CR and LF end a CSV record; form feeds or U+2028 pasted into a note do not.
    data = "city,note\r\nPTLIS,page\x0cbreak\r\nITTRN,line\u2028separator\r\n".encode()
    records = await read(data)
    assert records == [
        (1, ["city", "note"]),
        (2, ["PTLIS", "page\x0cbreak"]),
        (3, ["ITTRN", "line\u2028separator"]),
    ], records


async def test_cr_only_line_endings_are_read() -> None:
    data = b"city,note\rPTLIS,a\rITTRN,b\r"
    expected = [(1, ["city", "note"]), (2, ["PTLIS", "a"]), (3, ["ITTRN", "b"])]
    assert await read(data) == expected
    assert await read_bytewise(data) == expected


async def test_cr_only_file_is_read_as_it_streams() -> None:
    # A file with CR line ends must not wait for its last byte before yielding records.
    seen: list[tuple[int, list[str]]] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"city,note\rPTLIS,a\r"
        yield b"ITTRN,b\r"
        assert seen, "no record was read before the second chunk was asked for"
        yield b"ESMAD,c\r"

    async for record in csv_records(chunks()):
        seen.append(record)
    assert [number for number, _ in seen] == [1, 2, 3, 4], seen


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1_000])
async def test_invalid_utf8_names_the_row_it_is_on(chunk_size: int) -> None:
    data = b"city,note\nPTLIS,a\nITTRN,b\nESMAD,caf\xe9\nFRLYS,d\n"
    with pytest.raises(CsvProblem) as caught:
        await read(data, range(chunk_size, len(data), chunk_size))
    assert caught.value.row == 4, f"chunks of {chunk_size}: row {caught.value.row}"
    byte = data.index(b"\xe9") + 1
    assert f"byte {byte}" in caught.value.message, caught.value.message


async def test_invalid_utf8_after_a_byte_order_mark_names_its_byte() -> None:
    data = b"\xef\xbb\xbfcity,note\nPTLIS,\xff\n"
    with pytest.raises(CsvProblem) as caught:
        await read(data)
    assert (caught.value.row, caught.value.field) == (2, "file"), caught.value.row
    byte = data.index(b"\xff") + 1
    assert f"byte {byte}" in caught.value.message, caught.value.message


async def test_invalid_utf8_yields_the_rows_before_it_first() -> None:
    records: Records = []
    with pytest.raises(CsvProblem):
        async for record in csv_records(_chunks(b"city,note\nPTLIS,a\nITTRN,\xff\n", [])):
            records.append(record)
    assert records == [(1, ["city", "note"]), (2, ["PTLIS", "a"])], records


async def test_file_ending_inside_a_utf8_character_is_a_problem() -> None:
    with pytest.raises(CsvProblem) as caught:
        await read(b"city,note\nPTLIS,caf\xc3")
    assert caught.value.row == 2, caught.value.row
    assert "UTF-8" in caught.value.message, caught.value.message


async def test_quoted_cell_that_never_closes_is_a_problem_at_its_row() -> None:
    with pytest.raises(CsvProblem) as caught:
        await read(b'city,note\nPTLIS,ok\nITTRN,"never closed\nESMAD,x\n')
    assert caught.value.row == 3, caught.value.row
    assert "never closes" in caught.value.message, caught.value.message


async def test_quote_that_never_closes_is_reported_without_reading_the_rest() -> None:
    asked = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal asked
        yield b'city,note\nPTLIS,"opened\n'
        for _ in range(10_000):
            asked += 1
            yield b"x" * 1023 + b"\n"

    with pytest.raises(CsvProblem) as caught:
        async for _ in csv_records(chunks()):
            pass
    assert caught.value.row == 2, caught.value.row
    assert asked < 2_000, f"{asked} KiB read past the quote before giving up"


async def test_line_that_never_ends_is_reported_without_reading_the_rest() -> None:
    asked = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal asked
        yield b"city,note\nPTLIS,"
        for _ in range(10_000):
            asked += 1
            yield b"x" * 1024

    with pytest.raises(CsvProblem) as caught:
        async for _ in csv_records(chunks()):
            pass
    assert caught.value.row == 2, caught.value.row
    assert asked < 2_000, f"{asked} KiB of one line read before giving up"


async def test_text_after_a_closing_quote_is_a_problem_at_its_row() -> None:
    with pytest.raises(CsvProblem) as caught:
        await read(b'city,note\nPTLIS,ok\nITTRN,"quoted"tail\n')
    assert caught.value.row == 3, caught.value.row
