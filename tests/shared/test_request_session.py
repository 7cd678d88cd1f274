"""The request's session (shared/db.py ``get_session``): it commits when the handler returns,
after the work registered with ``on_before_commit`` (an ``Idempotency-Key`` claim), all in
one transaction; if that work fails, nothing of the request is committed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.db import Database, SessionDep, on_before_commit

Callback = Callable[[AsyncSession], Awaitable[None]]


async def note(session: AsyncSession, words: str) -> None:
    await session.execute(text("INSERT INTO hook_note (words) VALUES (:words)"), {"words": words})


async def notes(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(text("SELECT words FROM hook_note ORDER BY id"))
    return [words for (words,) in rows]


class RegisteringMiddleware:
    """Registers ``callback`` before the request reaches the app, as the Idempotency-Key
    middleware does (no session exists yet)."""

    def __init__(self, app: ASGIApp, callback: Callback) -> None:
        self.app = app
        self.callback = callback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            on_before_commit(scope, self.callback)
        await self.app(scope, receive, send)


@asynccontextmanager
async def client(
    profiles_app: FastAPI, connection: AsyncConnection, *, before_commit: Callback
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with one route writing a note in the request's session, and
    ``before_commit`` registered by a middleware; everything inside the test's transaction."""
    await connection.execute(
        text("CREATE TEMPORARY TABLE hook_note (id serial PRIMARY KEY, words text NOT NULL)")
    )
    database = Database(profiles_app.state.database.engine)
    database.sessionmaker = database.sessions(connection, join_transaction_mode="create_savepoint")
    app = FastAPI()
    app.state.database = database

    @app.post("/notes")
    async def write_note(request: Request, session: SessionDep) -> dict[str, str]:
        await note(session, "from the handler")
        # Registered while the request runs, it runs after the middleware's.
        on_before_commit(request.scope, lambda session: note(session, "registered last"))
        return {}

    app.add_middleware(RegisteringMiddleware, callback=before_commit)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        yield http


async def test_before_commit_work_runs_once_in_the_requests_transaction_after_the_handler(
    profiles_app: FastAPI, connection: AsyncConnection
) -> None:
    seen: list[list[str]] = []

    async def claim(session: AsyncSession) -> None:
        # The handler's write is there: the same transaction, not yet committed.
        rows = await session.execute(text("SELECT words FROM hook_note ORDER BY id"))
        seen.append([words for (words,) in rows])
        await note(session, "from the callback")

    async with client(profiles_app, connection, before_commit=claim) as http:
        response = await http.post("/notes")
    assert response.status_code == 200, response.text
    assert seen == [["from the handler"]], seen
    assert await notes(connection) == ["from the handler", "from the callback", "registered last"]


@pytest.mark.parametrize("fails_after_writing", [True, False])
async def test_a_failing_before_commit_callback_leaves_nothing_of_the_request(
    profiles_app: FastAPI, connection: AsyncConnection, fails_after_writing: bool
) -> None:
    async def failing(session: AsyncSession) -> None:
        if fails_after_writing:
            await note(session, "from the callback")
        raise RuntimeError("the claim could not be written")

    async with client(profiles_app, connection, before_commit=failing) as http:
        response = await http.post("/notes")
    assert response.status_code == 500, response.text
    assert await notes(connection) == [], "a request whose callback failed committed something"
