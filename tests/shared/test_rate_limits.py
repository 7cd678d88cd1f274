"""Writes are rate-limited per caller in Redis (a 429 with Retry-After); reads never are."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profiles_api.app import create_app
from shared.auth import Role, issue_token
from shared.db import Database
from shared.settings import parse_rate
from tests.conftest import make_settings
from tests.factories import Api, assert_problem, csv_file, new_source, unique_title
from tests.profiles.test_imports import row
from tests.worker.receivers import bound_socket, free_port

Limited = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def limited(
    database_url: str, server_urls: tuple[str, str], connection: AsyncConnection
) -> Limited:
    """Opens a profiles app with rate limits on (keys of the test's own) and a client of it."""

    @asynccontextmanager
    async def open_client(
        *,
        client_address: str = "192.0.2.10",
        redis_url: str | None = None,
        key_prefix: str | None = None,
        **limits: Any,
    ) -> AsyncIterator[Api]:
        settings = make_settings(
            database_url,
            redis_url or server_urls[1],
            rate_limit_enabled=True,
            rate_limit_key_prefix=key_prefix or f"test-{uuid.uuid4().hex}:rate-limit",
            **limits,
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            client_of(app, connection, client_address) as client,
        ):
            yield client

    return open_client


@asynccontextmanager
async def client_of(app: FastAPI, connection: AsyncConnection, address: str) -> AsyncIterator[Api]:
    """A client calling from ``address``, its requests inside the test's transaction."""
    database: Database = app.state.database
    database.sessionmaker = database.sessions(connection, join_transaction_mode="create_savepoint")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://limited.test") as client:
        yield Api(client, app.state.settings)


def bearer(api: Api, subject: str) -> dict[str, str]:
    token = issue_token(api.settings, subject=subject, role=Role.admin)
    return {"Authorization": f"Bearer {token}"}


async def write(api: Api, *, subject: str | None = "alice@test") -> httpx.Response:
    headers = bearer(api, subject) if subject is not None else {}
    return await api.client.post(
        "/v1/sources",
        json=new_source(title=unique_title("Rate limit test"), kind="register"),
        headers=headers,
    )


def assert_too_many(response: httpx.Response, limit: int) -> dict[str, Any]:
    body = assert_problem(response, 429)
    assert body["limit"] == limit, body
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= body["window_seconds"], response.headers
    assert body["retry_after"] == retry_after, body
    assert response.headers["RateLimit-Remaining"] == "0", response.headers
    return body


async def test_the_write_beyond_the_limit_is_a_429_with_retry_after(limited: Limited) -> None:
    async with limited(rate_limit_writes="3/minute") as api:
        accepted = [await write(api) for _ in range(3)]
        refused = await write(api)

    assert [r.status_code for r in accepted] == [201, 201, 201], [r.text for r in accepted]
    assert [r.headers["RateLimit-Remaining"] for r in accepted] == ["2", "1", "0"]
    assert accepted[0].headers["RateLimit-Limit"] == "3"
    body = assert_too_many(refused, 3)
    assert "writes" in body["detail"], body


async def test_another_token_is_not_affected(limited: Limited) -> None:
    async with limited(rate_limit_writes="2/minute") as api:
        for _ in range(2):
            await write(api, subject="alice@test")
        alice = await write(api, subject="alice@test")
        bob = await write(api, subject="bob@test")

    assert_too_many(alice, 2)
    assert bob.status_code == 201, bob.text


async def test_anonymous_callers_are_limited_by_their_address_across_replicas(
    limited: Limited,
) -> None:
    prefix = f"test-{uuid.uuid4().hex}:rate-limit"
    replica = {"key_prefix": prefix, "rate_limit_writes": "2/minute"}
    async with limited(client_address="192.0.2.10", **replica) as api:
        first = [await write(api, subject=None) for _ in range(2)]
    async with limited(client_address="192.0.2.10", **replica) as other_replica:
        same_address = await write(other_replica, subject=None)
    async with limited(client_address="198.51.100.7", **replica) as elsewhere:
        other_address = await write(elsewhere, subject=None)

    # Anonymous writes are refused (401) but still counted, so a flood of them is cut off.
    assert [r.status_code for r in first] == [401, 401], [r.text for r in first]
    assert_too_many(same_address, 2)
    assert other_address.status_code == 401, other_address.text


async def test_reads_are_never_limited(limited: Limited) -> None:
    async with limited(rate_limit_writes="1/minute") as api:
        await write(api)
        assert (await write(api)).status_code == 429
        reads = [await api.get("/v1/sources", role=Role.admin) for _ in range(5)]

    assert {r.status_code for r in reads} == {200}, [r.text for r in reads]
    assert "RateLimit-Limit" not in reads[0].headers


async def test_the_limit_resets_when_its_window_ends(limited: Limited) -> None:
    async with limited(rate_limit_writes="2/2 seconds") as api:
        await api.get("/v1/sources")  # connects to the database, so the writes follow quickly
        await write(api)
        await write(api)
        refused = await write(api)
        assert_too_many(refused, 2)
        await asyncio.sleep(int(refused.headers["Retry-After"]) + 0.1)
        again = await write(api)

    assert again.status_code == 201, again.text


async def test_a_write_refused_by_the_limit_may_be_retried_with_its_idempotency_key(
    limited: Limited,
) -> None:
    # A 429 is not kept as the key's answer: the retry after the window is carried out.
    async with limited(rate_limit_writes="1/2 seconds") as api:
        await api.get("/v1/sources")
        await write(api)
        headers = {**bearer(api, "alice@test"), "Idempotency-Key": uuid.uuid4().hex}
        body = new_source(title=unique_title("Rate limit test"), kind="register")
        refused = await api.client.post("/v1/sources", json=body, headers=headers)
        await asyncio.sleep(int(refused.headers["Retry-After"]) + 0.1)
        retried = await api.client.post("/v1/sources", json=body, headers=headers)

    assert_too_many(refused, 1)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers


async def test_imports_have_their_own_lower_limit(limited: Limited) -> None:
    data = csv_file(row())
    async with limited(rate_limit_writes="3/minute", rate_limit_imports="2/minute") as api:

        async def dry_import() -> httpx.Response:
            return await api.post(
                "/v1/imports",
                content=data,
                params={"dry_run": "true"},
                headers={"Content-Type": "text/csv"},
                role=Role.admin,
            )

        imports = [await dry_import() for _ in range(2)]
        refused = await dry_import()
        # Imports do not use up the writes' allowance, nor writes the imports'.
        writes = [await write(api, subject="admin@test") for _ in range(3)]

    assert [r.status_code for r in imports] == [200, 200], [r.text for r in imports]
    body = assert_too_many(refused, 2)
    assert "imports" in body["detail"], body
    assert [r.status_code for r in writes] == [201, 201, 201], [r.text for r in writes]


async def test_writes_are_accepted_when_redis_is_down(
    limited: Limited, caplog: pytest.LogCaptureFixture
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="shared.rate_limit")
    async with limited(rate_limit_writes="1/minute", redis_url=nobody) as api:
        started = time.perf_counter()
        responses = [await write(api) for _ in range(5)]
        elapsed = time.perf_counter() - started
        metrics = (await api.get("/metrics")).text

    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert elapsed < 2, f"five writes took {elapsed:.2f} s with Redis down"
    assert 'mc2cm_rate_limit_unavailable_total{service="profiles"} 5.0' in metrics, metrics
    assert any("rate limit not checked" in record.message for record in caplog.records)


async def test_a_redis_that_never_answers_delays_a_write_by_the_short_timeout_only(
    limited: Limited,
) -> None:
    # A server that takes connections and answers nothing, as a hung Redis would.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(silent, sock=bound_socket())
    port = server.sockets[0].getsockname()[1]
    try:
        async with limited(
            rate_limit_writes="1/minute",
            rate_limit_timeout_seconds=0.2,
            rate_limit_pause_seconds=30,
            redis_url=f"redis://127.0.0.1:{port}/0",
        ) as api:
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                response = await write(api)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text
    finally:
        server.close()

    # The first write waits the timeout; the next ones do not ask the silent Redis again.
    assert 0.2 <= timings[0] < 1, timings
    assert max(timings[1:]) < 0.2, timings


@pytest.mark.parametrize(
    ("text", "amount", "seconds"),
    [("120/minute", 120, 60), ("10 per hour", 10, 3600), ("5/10 seconds", 5, 10)],
)
def test_rates_are_read_from_their_settings(text: str, amount: int, seconds: int) -> None:
    rate = parse_rate(text)
    assert (rate.amount, rate.seconds) == (amount, seconds), rate


@pytest.mark.parametrize("text", ["120", "0/minute", "ten/minute", "5/fortnight"])
def test_a_rate_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)
