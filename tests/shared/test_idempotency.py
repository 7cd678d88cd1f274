"""``Idempotency-Key`` on POST: replays answer the first response, never act twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.db import idempotency_keys as dialogue_keys
from services.profiles_api.app import create_app
from services.profiles_api.db import idempotency_keys as profiles_keys
from services.profiles_api.sources.models import Source
from shared.auth import Role, issue_token
from shared.db import Database
from shared.idempotency import purge_expired
from shared.settings import Settings
from tests.conftest import make_settings
from tests.dialogue.factories import new_person
from tests.factories import Api, assert_problem, csv_file, error_fields

SOURCE = {"title": "Census 2021", "kind": "census"}


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


async def sources_titled(session: AsyncSession, title: str) -> int:
    count = await session.scalar(select(func.count()).where(Source.title == title))
    return int(count or 0)


async def test_a_replay_returns_the_first_response_and_creates_nothing_more(
    api: Api, session: AsyncSession
) -> None:
    key = str(uuid.uuid4())
    body = {**SOURCE, "title": "Replayed census"}

    first = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))
    again = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await sources_titled(session, "Replayed census") == 1


async def test_the_same_key_with_another_body_is_a_422_naming_the_header(
    api: Api, session: AsyncSession
) -> None:
    key = str(uuid.uuid4())
    await api.post(
        "/v1/sources", json={**SOURCE, "title": "First"}, role=Role.admin, headers=keyed(key)
    )

    response = await api.post(
        "/v1/sources", json={**SOURCE, "title": "Second"}, role=Role.admin, headers=keyed(key)
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"Idempotency-Key"}, problem
    assert problem["errors"][0]["location"] == "header", problem
    assert await sources_titled(session, "Second") == 0


async def test_the_same_key_on_another_path_is_a_422(api: Api, dialogue: Api) -> None:
    key = str(uuid.uuid4())
    await api.post("/v1/sources", json=SOURCE, role=Role.admin, headers=keyed(key))

    response = await api.post("/v1/indicators", json=SOURCE, role=Role.admin, headers=keyed(key))

    assert error_fields(assert_problem(response, 422)) == {"Idempotency-Key"}


async def test_keys_belong_to_their_caller(api: Api, session: AsyncSession) -> None:
    # Another caller's request with the same key runs: here it meets the first one's source.
    key = str(uuid.uuid4())
    body = {**SOURCE, "title": "Two callers"}
    admin = api.headers(Role.admin, **keyed(key))
    editor = api.headers(Role.editor, ("PTLIS",), **keyed(key))

    first = await api.client.post("/v1/sources", json=body, headers=admin)
    second = await api.client.post("/v1/sources", json=body, headers=editor)

    assert first.status_code == 201, first.text
    assert assert_problem(second, 409)["existing_id"] == first.json()["id"]
    assert "idempotent-replayed" not in second.headers


async def test_a_refused_request_is_answered_the_same_way_again(api: Api) -> None:
    key = str(uuid.uuid4())
    body = {"title": "", "kind": "census"}

    first = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))
    again = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))

    assert_problem(first, 422)
    assert again.status_code == 422
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"


async def test_requests_without_a_key_run_each_time(api: Api) -> None:
    body = {**SOURCE, "title": "Twice without key"}

    first = await api.post("/v1/sources", json=body, role=Role.admin)
    second = await api.post("/v1/sources", json=body, role=Role.admin)

    assert first.status_code == 201, first.text
    assert assert_problem(second, 409)["existing_id"] == first.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "clé-non-ascii", "tab\there"])
async def test_a_malformed_key_is_a_422_naming_the_header(api: Api, key: str) -> None:
    headers = [(name.encode(), value.encode()) for name, value in api.headers(Role.admin).items()]
    headers += [(b"Content-Type", b"application/json"), (b"Idempotency-Key", key.encode())]
    response = await api.client.post("/v1/sources", content=orjson.dumps(SOURCE), headers=headers)

    assert error_fields(assert_problem(response, 422)) == {"Idempotency-Key"}


async def test_a_bad_token_with_a_key_is_a_401_and_keeps_nothing(
    api: Api, session: AsyncSession
) -> None:
    key = str(uuid.uuid4())
    response = await api.client.post(
        "/v1/sources",
        json=SOURCE,
        headers={"Authorization": "Bearer not-a-token", "Idempotency-Key": key},
    )

    assert_problem(response, 401)
    kept = await session.scalar(select(func.count()).where(profiles_keys.c.key == key))
    assert kept == 0


async def test_an_expired_key_runs_the_request_again(api: Api, session: AsyncSession) -> None:
    key = str(uuid.uuid4())
    body = {**SOURCE, "title": "After a day"}
    await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))
    await session.execute(
        update(profiles_keys)
        .where(profiles_keys.c.key == key)
        .values(created_at=func.now() - timedelta(hours=25))
    )

    again = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))

    # Run again, it meets the source the first request created.
    assert_problem(again, 409)
    assert "idempotent-replayed" not in again.headers


async def test_a_key_carried_out_without_a_recorded_response_is_never_run_again(
    api: Api, session: AsyncSession
) -> None:
    # What a process killed between committing the change and recording its response leaves.
    key = str(uuid.uuid4())
    body = {**SOURCE, "title": "Crashed"}
    await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))
    await session.execute(
        update(profiles_keys).where(profiles_keys.c.key == key).values(status=None)
    )

    response = await api.post("/v1/sources", json=body, role=Role.admin, headers=keyed(key))

    problem = assert_problem(response, 409)
    assert "carried out" in problem["detail"], problem
    assert await sources_titled(session, "Crashed") == 1


async def test_a_streamed_import_is_replayed_by_its_key(api: Api) -> None:
    key = str(uuid.uuid4())
    data = csv_file(
        "ITTRN,foreign_nationals,2031,municipality,,140001,,,,Idempotent census,"
        "Comune di Torino,,census,"
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16):
            yield data[start : start + 16]

    async def send() -> httpx.Response:
        return await api.post(
            "/v1/imports",
            content=chunks(),
            role=Role.admin,
            headers=keyed(key, **{"Content-Type": "text/csv"}),
        )

    first, again = await send(), await send()

    assert first.status_code == 200, first.text
    assert first.json()["inserted"] == 1, first.json()
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"


async def test_dialogue_posts_honour_the_key_too(dialogue: Api) -> None:
    key = str(uuid.uuid4())
    person = new_person()

    first = await dialogue.post("/v1/people", json=person, role=Role.admin, headers=keyed(key))
    again = await dialogue.post("/v1/people", json=person, role=Role.admin, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"


async def test_expired_keys_are_purged_and_live_ones_kept(session: AsyncSession) -> None:
    for key, age in (("old", timedelta(hours=30)), ("fresh", timedelta(hours=1))):
        await session.execute(
            insert(dialogue_keys).values(
                caller="subject:purge@test",
                key=key,
                fingerprint="0" * 64,
                method="POST",
                path="/v1/people",
                status=201,
                created_at=func.now() - age,
            )
        )

    purged = await purge_expired(session, dialogue_keys, timedelta(hours=24))

    left = await session.scalars(
        select(dialogue_keys.c.key).where(dialogue_keys.c.caller == "subject:purge@test")
    )
    assert purged >= 1
    assert set(left) == {"fresh"}


# Concurrency needs transactions that commit on their own connections.


@pytest.fixture(scope="module")
async def committed_profiles(
    own_database: Database, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    settings = make_settings(own_database.engine.url.render_as_string(False), server_urls[1])
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app, settings


async def test_a_concurrent_request_with_the_same_key_is_a_409(
    committed_profiles: tuple[FastAPI, Settings], own_database: Database
) -> None:
    app, settings = committed_profiles
    key = str(uuid.uuid4())
    title = f"Concurrent {key}"
    body = orjson.dumps({**SOURCE, "title": title})
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:10]
        started.set()
        await release.wait()
        yield body[10:]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://profiles.test") as client:
        api = Api(client, settings)
        headers = api.headers(Role.admin, **keyed(key, **{"Content-Type": "application/json"}))
        first = asyncio.create_task(
            client.post("/v1/sources", content=slow_body(), headers=headers)
        )
        await asyncio.wait_for(started.wait(), timeout=10)

        second = await client.post("/v1/sources", content=body, headers=headers)

        release.set()
        first_response = await first
        third = await client.post("/v1/sources", content=body, headers=headers)

    problem = assert_problem(second, 409)
    assert error_fields(problem) == {"Idempotency-Key"}, problem
    assert second.headers.get("retry-after"), second.headers
    assert first_response.status_code == 201, first_response.text
    assert third.status_code == 201
    assert third.json() == first_response.json()
    assert third.headers.get("idempotent-replayed") == "true"
    async with own_database.sessionmaker() as session:
        assert await sources_titled(session, title) == 1


async def test_a_body_refused_as_too_large_does_not_use_up_its_key(
    api: Api, session: AsyncSession
) -> None:
    key = str(uuid.uuid4())
    title = "Sent again smaller"
    huge = orjson.dumps({**SOURCE, "title": title, "licence": "x" * (2 << 20)})

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: cut off as it arrives
        for start in range(0, len(huge), 64 << 10):
            yield huge[start : start + (64 << 10)]

    headers = keyed(key, **{"Content-Type": "application/json"})
    refused = await api.post("/v1/sources", content=chunked(), role=Role.admin, headers=headers)
    accepted = await api.post(
        "/v1/sources", json={**SOURCE, "title": title}, role=Role.admin, headers=keyed(key)
    )

    assert_problem(refused, 413)
    assert accepted.status_code == 201, accepted.text
    assert "idempotent-replayed" not in accepted.headers
    assert await sources_titled(session, title) == 1


def same_subject(api: Api, role: Role, *cities: str, key: str) -> dict[str, str]:
    """Headers of a token for one subject, ``dev@example.org``, under ``role`` and ``cities``:
    one person whose rights changed, or two tokens of one identity provider account."""
    token = issue_token(api.settings, subject="dev@example.org", role=role, cities=cities)
    return {"Authorization": f"Bearer {token}", **keyed(key)}


async def test_a_replay_under_a_role_the_operation_refuses_is_refused_not_replayed(
    dialogue: Api,
) -> None:
    # The admin's webhook, with its signing secret; the same subject as a viewer sends the
    # same key and body: authorisation comes first, and the secret is not replayed.
    key = str(uuid.uuid4())
    body = {"url": "https://partner.example.org/hooks/mc2cm", "event_types": ["event.changed"]}
    created = await dialogue.client.post(
        "/v1/webhooks", json=body, headers=same_subject(dialogue, Role.admin, key=key)
    )
    assert created.status_code == 201, created.text
    assert created.json()["secret"]

    replayed = await dialogue.client.post(
        "/v1/webhooks", json=body, headers=same_subject(dialogue, Role.viewer, key=key)
    )

    assert_problem(replayed, 403)
    assert "secret" not in replayed.text
    assert "idempotent-replayed" not in replayed.headers


async def test_a_key_used_under_other_rights_is_a_422_naming_the_header(
    api: Api, session: AsyncSession
) -> None:
    # Both rights may call the operation; the editor of Lisbon's answer is not Madrid's.
    key = str(uuid.uuid4())
    body = {**SOURCE, "title": "Rights in the fingerprint"}
    first = await api.client.post(
        "/v1/sources", json=body, headers=same_subject(api, Role.editor, "PTLIS", key=key)
    )
    assert first.status_code == 201, first.text

    other_city = await api.client.post(
        "/v1/sources", json=body, headers=same_subject(api, Role.editor, "ESMAD", key=key)
    )
    as_admin = await api.client.post(
        "/v1/sources", json=body, headers=same_subject(api, Role.admin, key=key)
    )
    same_rights = await api.client.post(
        "/v1/sources", json=body, headers=same_subject(api, Role.editor, "PTLIS", key=key)
    )

    for refused in (other_city, as_admin):
        problem = assert_problem(refused, 422)
        assert error_fields(problem) == {"Idempotency-Key"}, problem
        assert "idempotent-replayed" not in refused.headers
    assert same_rights.status_code == 201, same_rights.text
    assert same_rights.headers.get("idempotent-replayed") == "true"
    assert await sources_titled(session, "Rights in the fingerprint") == 1


async def test_an_anonymous_post_reusing_a_key_is_a_401_not_a_422(
    api: Api, session: AsyncSession
) -> None:
    key = str(uuid.uuid4())

    first = await api.client.post("/v1/sources", json=SOURCE, headers=keyed(key))
    other_body = await api.client.post(
        "/v1/sources", json={**SOURCE, "title": "Another"}, headers=keyed(key)
    )

    assert_problem(first, 401)
    assert_problem(other_body, 401)
    kept = await session.scalar(select(func.count()).where(profiles_keys.c.key == key))
    assert kept == 0
