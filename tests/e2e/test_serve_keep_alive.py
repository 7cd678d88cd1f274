"""``mc2cm serve`` keeps an idle connection open for ``MC2CM_KEEP_ALIVE_SECONDS``: a proxy's
pool of upstream connections reuses it, and the API, not the proxy, must be the last to close
it (a request sent on a connection the API is closing fails with a 502)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from shared.settings import Settings
from tests.e2e.test_serve_shutdown import start_serve
from tests.worker.receivers import HOST, free_port

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: api.test\r\n\r\n"


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """The status line of the answer to a GET sent on the open connection."""
    writer.write(REQUEST)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


async def test_an_idle_connection_is_kept_as_long_as_the_setting_says(
    settings: Settings, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    process = await start_serve(settings, port, log, MC2CM_KEEP_ALIVE_SECONDS="2")
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        first = await answer(reader, writer)
        await asyncio.sleep(1)
        second = await answer(reader, writer)  # the same connection, idle 1 s
        idle_from = time.monotonic()
        closed = await asyncio.wait_for(reader.read(), timeout=10)
        idle = time.monotonic() - idle_from
        writer.close()
    finally:
        process.terminate()
        await process.wait()

    assert first == second == b"HTTP/1.1 200 OK", (first, second)
    assert closed == b"", closed
    # Closed by the server after the setting's 2 s, not uvicorn's default 5 s.
    assert 1.5 <= idle < 4, idle
