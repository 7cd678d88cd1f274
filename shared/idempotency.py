"""``Idempotency-Key`` on POST: a retried request is answered, not carried out twice.

Stripe's rules. A POST that carries the header is fingerprinted (method, path, query, the
caller's rights and a SHA-256 of the body as the app reads it) and its response is kept with
the key, the caller and the fingerprint for ``MC2CM_IDEMPOTENCY_TTL_HOURS`` (24 by default):

- the same key, caller and request again: the stored status, headers and body, marked
  ``Idempotent-Replayed: true``; nothing runs a second time;
- the same key while the first request is still running: 409;
- the same key with another request (body, path or method), or under other rights (the
  caller's role or cities changed): 422 naming the header.

A replay never gives a caller more than they may see now. Authentication and authorisation
come first: a request without a valid token, or from a role the operation never serves
(``shared.access_matrix``), goes to the app untouched, which answers it 401 or 403, and the
store is neither read nor written. Object-level rules (which city an editor may change) run
inside each route, where the middleware cannot follow them: the caller's role and cities are
therefore part of the fingerprint, so a response is replayed only to the rights it was
authorised for.

Exactly once, not at least once: the row that claims the key is inserted by the request's own
session, in the transaction of the write it guards (the middleware registers the claim with
``shared.db.on_before_commit``), so a change committed is always a key claimed. The response
is added to that row when it has been sent. If the process dies between the two, a retry
finds the key claimed without a response and gets a 409 that says the request was carried
out; it is never run twice. Responses of 5xx
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
from typing import Any

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

from shared.access_matrix import Caller as CallerKind
from shared.access_matrix import callers_of
from shared.auth import Principal, Role, TokenVerifier
from shared.db import Database, on_before_commit
from shared.distribution import LOCAL, distribution
from shared.errors import (
    Conflict,
    ProblemError,
    ValidationFailed,
    field_error,
    invalid,
    render_problem,
)
from shared.problem_handlers import database_problem
from shared.routing import operation_table, route_path

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
#: Bodies up to this size are read before the app runs, so the fingerprint covers them whole.
READ_AHEAD_BYTES = 1 << 20
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
        # Keyed by caller, not by city: stays on the coordinator.
        **distribution(LOCAL),
    )


@dataclass(frozen=True)
class KeyOwner:
    """Who sends a key: the identity keys are scoped by, and the rights the request had."""

    #: ``subject:<sub>`` for a token holder, ``anonymous:<address>`` otherwise.
    identity: str
    #: The role and cities the request was authorised with (``anonymous`` without a token).
    rights: str
    #: The access matrix's kinds of caller this one may be, for the operation-level check.
    kinds: frozenset[CallerKind]

    @classmethod
    def anonymous(cls, address: str) -> KeyOwner:
        return cls(f"anonymous:{address}", "anonymous", frozenset({"anonymous"}))

    @classmethod
    def of(cls, principal: Principal) -> KeyOwner:
        kinds: frozenset[CallerKind]
        if principal.role is Role.admin:
            kinds = frozenset({"admin"})
        elif principal.role is Role.editor:
            # Which of the two an editor is depends on the object: the route decides.
            kinds = frozenset({"city_editor", "other_editor"})
        else:
            kinds = frozenset({"viewer"})
        rights = f"role={principal.role.value};cities={','.join(sorted(principal.cities))}"
        return cls(f"subject:{principal.subject}", rights, kinds)


@dataclass
class Claim:
    """A keyed request under way: who sent which key, and the hash of what it sent."""

    table: Table
    caller: str
    key: str
    method: str
    path: str
    query: bytes
    rights: str = "anonymous"
    body_hash: Any = field(default_factory=hashlib.sha256)
    claimed: bool = False

    def fingerprint(self) -> str:
        request = hashlib.sha256()
        for part in (self.method.encode(), self.path.encode(), self.query, self.rights.encode()):
            request.update(part + b"\0")
        request.update(self.body_hash.digest())
        return request.hexdigest()


async def claim_in_transaction(session: AsyncSession, claim: Claim) -> None:
    """Insert the claim's row in the request's transaction (before its commit: the middleware
    registers it with ``shared.db.on_before_commit``)."""
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
    """Honours ``Idempotency-Key`` on every POST of the app, with ``table`` as the store;
    ``service`` names the app in the access matrix."""

    def __init__(self, app: ASGIApp, *, table: Table, ttl: timedelta, service: str) -> None:
        self.app = app
        self.table = table
        self.ttl = ttl
        self.service = service

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
        owner = await self._owner(scope)
        if owner is None or not self._may_call(scope, owner):
            # A bad token, or a caller the operation never serves: the app answers 401 or
            # 403 first, and the store is neither read nor written.
            await self.app(scope, receive, send)
            return
        claim = Claim(
            table=self.table,
            caller=owner.identity,
            key=key,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b""),
            rights=owner.rights,
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

    async def _owner(self, scope: Scope) -> KeyOwner | None:
        """Who sends the request; ``None`` for a token that is not valid."""
        authorization = Headers(scope=scope).get("authorization")
        if authorization is None:
            client = scope.get("client")
            return KeyOwner.anonymous(client[0] if client else "-")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        verifier: TokenVerifier = scope["app"].state.token_verifier
        try:
            principal = await verifier.verify_async(token.strip())
        except ProblemError:
            return None
        return KeyOwner.of(principal)

    def _may_call(self, scope: Scope, owner: KeyOwner) -> bool:
        """Whether the operation the request reaches serves callers like ``owner`` at all;
        a path the app does not route is left to it (404, 405)."""
        route = operation_table(scope["app"]).route_for(scope["method"], route_path(scope))
        if route is None:
            return False
        allowed = callers_of(self.service, route.name)
        return allowed is None or not owner.kinds.isdisjoint(allowed)

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

        # The key is claimed in the transaction of the change it guards, if the app commits one.
        on_before_commit(scope, lambda session: claim_in_transaction(session, claim))
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
