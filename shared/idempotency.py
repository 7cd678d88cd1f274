"""``Idempotency-Key`` on POST: a retried request is answered, not carried out twice.

Stripe's rules. A POST that carries the header is fingerprinted (method, path, query and a
SHA-256 of the body as the app reads it) and its response is kept with the key, the caller
and the fingerprint for ``MC2CM_IDEMPOTENCY_TTL_HOURS`` (24 by default):

- the same key, caller and request again: the stored status, headers and body, marked
  ``Idempotent-Replayed: true``; nothing runs a second time;
- the same key while the first request is still running: 409;
- the same key with another request (body, path or method): 422 naming the header.

Exactly once, not at least once: the row that claims the key is inserted by the request's own
session (``shared.db.get_session``), in the transaction of the write it guards, so a change
committed is always a key claimed. The response is added to that row when it has been sent.
If the process dies between the two, a retry finds the key claimed without a response and
gets a 409 that says the request was carried out; it is never run twice. Responses of 5xx
(nothing was committed) and refusals of the moment (429 rate limit, 413, 408) are not kept:
the caller may retry with the same key.

While a request runs, a PostgreSQL transaction advisory lock on the caller and key keeps a
concurrent one out; it lives in a transaction of the middleware's own, which ends with the
request (or with the connection, when a process dies).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import TokenVerifier
from shared.errors import (
    Conflict,
    ProblemError,
    ValidationFailed,
    field_error,
    invalid,
    render_problem,
)
from shared.problem_handlers import database_problem

if TYPE_CHECKING:
    from shared.db import Database

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
#: Bodies up to this size are read before the app runs, so the fingerprint covers them whole.
READ_AHEAD_BYTES = 1 << 20
#: Where the middleware leaves the claim for ``get_session`` in the ASGI scope.
SCOPE_KEY = "mc2cm.idempotency"
#: First key of the two-key advisory locks held while a keyed request runs ("IDM").
LOCK_CLASS = 0x49444D
#: Refusals that say "try again later" or "not like this" about the transport, not the
#: request: they are not kept, so the same key may be retried once the cause has passed.
_RETRYABLE = frozenset({408, 413, 425, 429})
#: Response headers a replay repeats; the others (date, request id...) are the replay's own.
_REPLAYED_HEADERS = frozenset(
    {b"content-type", b"location", b"etag", b"content-language", b"retry-after"}
)


def idempotency_table(metadata: MetaData) -> Table:
    """The ``idempotency_key`` table of the schema ``metadata`` belongs to."""
    return Table(
        "idempotency_key",
        metadata,
        Column("caller", String(300), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("method", String(10), nullable=False),
        Column("path", String(2000), nullable=False),
        Column("status", Integer),  # NULL until the response has been sent
        Column("response_headers", JSONB),
        Column("response_body", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("completed_at", DateTime(timezone=True)),
        Index("ix_idempotency_key_created_at", "created_at"),
    )


@dataclass
class Claim:
    """A keyed request under way: who sent which key, and the hash of what it sent."""

    table: Table
    caller: str
    key: str
    method: str
    path: str
    query: bytes
    body_hash: Any = field(default_factory=hashlib.sha256)
    claimed: bool = False

    def fingerprint(self) -> str:
        request = hashlib.sha256()
        for part in (self.method.encode(), self.path.encode(), self.query):
            request.update(part + b"\0")
        request.update(self.body_hash.digest())
        return request.hexdigest()


async def claim_in_transaction(session: AsyncSession, claim: Claim) -> None:
    """Insert the claim's row in the request's transaction (called by ``get_session``)."""
    values = {
        "caller": claim.caller,
        "key": claim.key,
        "fingerprint": claim.fingerprint(),
        "method": claim.method,
        "path": claim.path,
    }
    # The middleware holds the key's lock and found no live row: a row there is an expired one.
    statement = insert(claim.table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["caller", "key"],
        set_={
            **values,
            "status": None,
            "response_headers": None,
            "response_body": None,
            "created_at": func.now(),
            "completed_at": None,
        },
    )
    await session.execute(statement)
    claim.claimed = True


async def purge_expired(session: AsyncSession, table: Table, ttl: timedelta) -> int:
    """Delete the keys older than ``ttl``; how many."""
    result = await session.execute(delete(table).where(table.c.created_at < func.now() - ttl))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _lock_key(caller: str, key: str) -> int:
    digest = hashlib.sha256(f"{caller}\0{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _valid_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise invalid(
            HEADER,
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID is a good key)",
            location="header",
        )
    return key


class _Body:
    """The request body as the app reads it, hashed on the way; read ahead when small."""

    def __init__(self, receive: Receive, claim: Claim) -> None:
        self._receive = receive
        self._claim = claim
        self._ahead: list[Message] = []
        self.complete = False

    async def _next(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._claim.body_hash.update(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        return message

    async def read_ahead(self) -> None:
        """Read the whole body now (the app gets it afterwards, unchanged)."""
        while not self.complete:
            message = await self._next()
            self._ahead.append(message)
            if message["type"] != "http.request":
                return

    async def receive(self) -> Message:
        if self._ahead:
            return self._ahead.pop(0)
        return await self._next()


class IdempotencyMiddleware:
    """Honours ``Idempotency-Key`` on every POST of the app, with ``table`` as the store."""

    def __init__(self, app: ASGIApp, *, table: Table, ttl: timedelta) -> None:
        self.app = app
        self.table = table
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = Headers(scope=scope).get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        try:
            key = _valid_key(raw_key)
        except ProblemError as refused:
            await render_problem(refused, instance=scope["path"])(scope, receive, send)
            return
        caller = await self._caller(scope)
        if caller is None:  # a bad token: the app answers 401 and nothing is kept
            await self.app(scope, receive, send)
            return
        claim = Claim(
            table=self.table,
            caller=caller,
            key=key,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b""),
        )
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._guarded(scope, receive, tracking_send, claim)
        except Exception as exc:
            # The store's own database work failed (the app's errors are answered inside it).
            problem = database_problem(exc)
            if problem is None or started:
                raise
            log.warning("Idempotency-Key store unavailable on %s: %s", scope["path"], exc)
            await render_problem(problem, instance=scope["path"])(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, claim: Claim) -> None:
        database: Database = scope["app"].state.database
        # One transaction for the whole request: its lock keeps a concurrent use of the key
        # out, and ends with it (or with the connection, if the process dies).
        async with database.sessionmaker() as store, store.begin():
            locked = await store.scalar(
                select(
                    func.pg_try_advisory_xact_lock(LOCK_CLASS, _lock_key(claim.caller, claim.key))
                )
            )
            if not locked:
                busy = Conflict(
                    f"A request with this {HEADER} is still being processed; retry later.",
                    errors=[
                        field_error(HEADER, "in use by a request under way", location="header")
                    ],
                    headers={"Retry-After": "1"},
                )
                await render_problem(busy, instance=scope["path"])(scope, receive, send)
                return
            await self._run_once(scope, _Body(receive, claim), send, store, claim)

    async def _caller(self, scope: Scope) -> str | None:
        authorization = Headers(scope=scope).get("authorization")
        if authorization is None:
            client = scope.get("client")
            return f"anonymous:{client[0] if client else '-'}"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        verifier: TokenVerifier = scope["app"].state.token_verifier
        try:
            principal = await verifier.verify_async(token.strip())
        except ProblemError:
            return None
        return f"subject:{principal.subject}"

    async def _run_once(
        self, scope: Scope, body: _Body, send: Send, store: AsyncSession, claim: Claim
    ) -> None:
        table = self.table
        stored = (
            await store.execute(
                select(table).where(
                    table.c.caller == claim.caller,
                    table.c.key == claim.key,
                    table.c.created_at >= func.now() - self.ttl,
                )
            )
        ).one_or_none()
        length = Headers(scope=scope).get("content-length")
        if stored is not None or (
            length is not None and length.isdigit() and int(length) <= READ_AHEAD_BYTES
        ):
            # The fingerprint must cover the whole body even where the app reads none of it.
            await body.read_ahead()
        if stored is not None:
            await self._answer_again(scope, body, send, claim, stored._mapping)
            return

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        content = bytearray()

        async def capturing_send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                content.extend(message.get("body", b""))
            await send(message)

        scope[SCOPE_KEY] = claim
        await self.app(scope, body.receive, capturing_send)
        if status >= 500 or (status in _RETRYABLE and not claim.claimed):
            return  # nothing was done, and a retry with the same key may succeed: run it then
        kept = [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in headers
            if name.lower() in _REPLAYED_HEADERS
        ]
        values: dict[str, Any] = {
            "status": status,
            "response_headers": kept,
            "response_body": bytes(content),
            "completed_at": func.now(),
        }
        if claim.claimed:
            await store.execute(
                update(table)
                .where(table.c.caller == claim.caller, table.c.key == claim.key)
                .values(**values)
            )
        else:
            # Refused before its transaction (a 4xx): the same answer is kept all the same.
            try:
                await body.read_ahead()
            except Exception:  # the body could not be read to its end: keep nothing
                return
            await store.execute(
                insert(table)
                .values(
                    caller=claim.caller,
                    key=claim.key,
                    fingerprint=claim.fingerprint(),
                    method=claim.method,
                    path=claim.path,
                    **values,
                )
                .on_conflict_do_update(index_elements=["caller", "key"], set_=values)
            )

    async def _answer_again(
        self, scope: Scope, body: _Body, send: Send, claim: Claim, stored: Any
    ) -> None:
        error: ProblemError
        if stored["fingerprint"] != claim.fingerprint():
            error = ValidationFailed(
                f"This {HEADER} was used with another request; use a new key for it.",
                errors=[
                    field_error(
                        HEADER,
                        f"already used for {stored['method']} {stored['path']} with another body",
                        location="header",
                    )
                ],
            )
        elif stored["status"] is None:
            error = Conflict(
                f"The request with this {HEADER} was carried out, but its response was not "
                "recorded (the server stopped); it will not run again: read the resource "
                "instead of retrying.",
                errors=[
                    field_error(
                        HEADER, "carried out without a recorded response", location="header"
                    )
                ],
            )
        else:
            await _replay(send, stored)
            return
        await render_problem(error, instance=scope["path"])(scope, body.receive, send)


async def _replay(send: Send, stored: Any) -> None:
    body: bytes = stored["response_body"] or b""
    headers: list[tuple[bytes, bytes]] = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in _pairs(stored["response_headers"])
    ]
    headers += [
        (b"content-length", str(len(body)).encode()),
        (REPLAYED_HEADER.lower().encode(), b"true"),
    ]
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _pairs(value: Any) -> Iterable[tuple[str, str]]:
    # JSONB comes back decoded (the engine's deserializer).
    return [(str(name), str(header)) for name, header in value or []]
