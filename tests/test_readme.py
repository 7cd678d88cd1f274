"""The README's "Try it" reads answer with something to see against the demo data, as a
newcomer runs them after `make dev` (profiles on port 8001, dialogue on 8002)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import Api

README = Path(__file__).parents[1] / "README.md"
#: Lists a read is about: each must hold something in the demo data.
SHOWN = ("items", "values", "figures", "sections", "challenges", "features")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Read:
    """A GET of the "Try it" block: its port, path with query, and headers."""

    port: int
    target: str
    headers: tuple[tuple[str, str], ...]


def try_it_reads() -> list[Read]:
    """Every `curl` of the README's "Try it" block that reads from one of the two APIs."""
    block = README.read_text(encoding="utf-8").split("Try it:", 1)[1]
    block = block.split("```sh", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    reads = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words or words[0] != "curl" or ("-X" in words and "GET" not in words):
            continue
        [url] = [word for word in words if word.startswith("http://")]
        parts = urlsplit(url)
        if parts.port not in (8001, 8002) or parts.path == "/v1" or "$(" in parts.path:
            # The demo editions' reads (named by the year `make dev` runs in) are tried
            # against `make dev` itself: tests/e2e/test_dev.py.
            continue
        headers = tuple(
            (name.strip(), value.strip())
            for name, _, value in (
                words[i + 1].partition(":") for i, word in enumerate(words) if word == "-H"
            )
        )
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        reads.append(Read(parts.port, target, headers))
    return reads


READS = try_it_reads()


def test_the_try_it_block_holds_reads_of_both_apis() -> None:
    assert {read.port for read in READS} == {8001, 8002}, READS
    assert len(READS) >= 6, READS


@pytest.mark.parametrize("read", READS, ids=[f"{r.port}{r.target}" for r in READS])
async def test_try_it_read_answers_with_something_to_see(
    api: Api, dialogue: Api, read: Read
) -> None:
    client = api if read.port == 8001 else dialogue
    # `$TOKEN` is the admin token the block has `mc2cm token --role admin` print.
    token = client.headers(Api.ADMIN)["Authorization"].removeprefix("Bearer ")
    headers = {name: value.replace("$TOKEN", token) for name, value in read.headers}

    response = await client.get(read.target, headers=headers)

    assert response.status_code == 200, (read, response.text)
    assert response.content, read
    if response.headers["content-type"].startswith("text/calendar"):
        assert "BEGIN:VEVENT" in response.text, (read, response.text)
    elif response.headers["content-type"].startswith("text/html"):
        # A page or a report: its heading, and a table or chart of the demo's figures.
        assert "<h1" in response.text, (read, response.text[:500])
        assert "<svg" in response.text or "<td" in response.text, (read, response.text[:500])
    elif response.headers["content-type"].startswith("application/vnd.sdmx.data+csv"):
        # SDMX-CSV: its header, and rows of the demo's figures.
        header, *rows = response.text.splitlines()
        assert header.startswith("STRUCTURE,STRUCTURE_ID,ACTION,") and rows, (read, header)
    elif response.headers["content-type"] == XLSX:
        assert response.content.startswith(b"PK"), read  # a zip, as every XLSX file
    elif response.headers["content-type"].startswith("application/vnd.sdmx.structure+xml"):
        assert "<str:DataStructure " in response.text, (read, response.text[:500])
    else:
        body = json.loads(response.content)
        for key in SHOWN:
            if isinstance(body, dict) and key in body:
                assert body[key], (read, key, body)
