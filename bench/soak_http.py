"""A lean HTTP/1.1 client for the soak's load: a fixed set of keep-alive connections to one
server, raw requests written on them, answers read by ``Content-Length`` or chunks.

Why not httpx: the soak sends a hundred or more requests a second from one process, on a
machine of two cores that also runs both APIs, the worker and PostgreSQL. httpx spends about a
millisecond of CPU a request, and its pool grows slower as more requests wait for a
connection, so under load the generator itself fell behind and its delays read as the
server's. Here a request costs a few tens of microseconds, and waiting for a connection is a
queue (``bench/p1_read.py`` drives P1 in the same way).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from dataclasses import dataclass
from typing import Any


class TransportError(Exception):
    """The connection failed, closed early, or the answer did not come in time."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class Pool:
    """``size`` keep-alive connections to ``base_url`` (``http://host:port``), opened as
    needed; a request waits for a free one."""

    def __init__(self, base_url: str, size: int, timeout: float = 60.0) -> None:
        host, port = base_url.removeprefix("http://").rstrip("/").split(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]
        self.free = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)  # a slot without a connection yet

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = b"" if json is None else jsonlib.dumps(json).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if json is not None:
            head += ["Content-Type: application/json"]
        if body or method in ("POST", "PUT", "PATCH"):
            head += [f"Content-Length: {len(body)}"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        connection = await self.free.get()
        try:
            if connection is None:
                connection = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.timeout
                )
            reader, writer = connection
            writer.write(raw)
            response = await asyncio.wait_for(_read_response(reader), self.timeout)
            if response.headers.get("connection", "").lower() == "close":
                writer.close()
                connection = None
            return response
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            if connection is not None:
                connection[1].close()
            connection = None
            raise TransportError(f"{type(error).__name__}: {error}") from error
        finally:
            self.free.put_nowait(connection)

    async def close(self) -> None:
        while not self.free.empty():
            connection = self.free.get_nowait()
            if connection is not None:
                connection[1].close()


async def _read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b"")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            chunks.append((await reader.readexactly(size + 2))[:-2])
        return Response(status, headers, b"".join(chunks))
    length = int(headers.get("content-length", "0"))
    return Response(status, headers, await reader.readexactly(length))
