"""Writers racing each other through the API, on a database where transactions really commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.profiles_api.app import create_app
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import make_settings
from tests.factories import Api, csv_file, observation

#: A short statement limit, so that a slow upload outlives it; long enough that a batch
#: waiting for another's new sources (its wait counts towards the limit) is not cut on a
#: loaded machine, as 500 ms was once.
STATEMENT_TIMEOUT_MS = 1500


@pytest.fixture(scope="module")
async def committed(
    seeded_database: str, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    settings = make_settings(
        seeded_database, server_urls[1], db_statement_timeout_ms=STATEMENT_TIMEOUT_MS
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app, settings


@pytest.fixture
async def racer(committed: tuple[FastAPI, Settings]) -> AsyncIterator[Api]:
    app, settings = committed
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://profiles.test") as client:
        yield Api(client, settings)


def batch(city: str, *titles: str) -> dict[str, object]:
    return {
        "observations": [
            observation(
                city=city,
                period=str(2000 + position),
                source={"title": title, "kind": "survey"},
            )
            for position, title in enumerate(titles)
        ]
    }


async def test_batches_creating_the_same_new_sources_in_opposite_orders_both_succeed(
    racer: Api,
) -> None:
    for round_no in range(8):
        one, two = f"Survey A{round_no}", f"Survey B{round_no}"
        responses = await asyncio.gather(
            racer.post("/v1/observations", role=Role.admin, json=batch("PTLIS", one, two)),
            racer.post("/v1/observations", role=Role.admin, json=batch("ESMAD", two, one)),
        )
        statuses = [response.status_code for response in responses]
        assert statuses == [200, 200], [response.text for response in responses]
        created = sorted(response.json()["sources_created"] for response in responses)
        assert sum(created) == 2, created


async def test_one_of_two_concurrent_withdrawals_wins_and_history_says_it_once(
    racer: Api, committed: tuple[FastAPI, Settings]
) -> None:
    written = await racer.post(
        "/v1/observations",
        role=Role.admin,
        json={"observations": [observation(city="ATVIE", period="1999", value=7)]},
    )
    assert written.status_code == 200, written.text
    found = await racer.get("/v1/observations", params={"city": "ATVIE", "period_to": "1999"})
    observation_id = found.json()["items"][0]["id"]

    responses = await asyncio.gather(
        *(
            racer.delete(
                f"/v1/observations/{observation_id}",
                role=Role.admin,
                params={"reason": "withdrawn by the publisher"},
            )
            for _ in range(2)
        )
    )

    assert sorted(response.status_code for response in responses) == [204, 404], [
        response.text for response in responses
    ]
    app, _ = committed
    async with app.state.database.engine.connect() as connection:
        changes = await connection.scalars(
            text(
                "SELECT change FROM profiles.observation_history WHERE observation_id = :id "
                "ORDER BY id"
            ),
            {"id": observation_id},
        )
        assert list(changes) == ["created", "deleted"]


async def test_upload_slower_than_the_statement_timeout_still_imports(racer: Api) -> None:
    rows = [
        f"ATVIE,foreign_born,{year},municipality,,{500000 + year},,,A,"
        "Slow upload test,Statistik Austria,,census,"
        for year in range(2001, 2005)
    ]
    data = csv_file(*rows)
    lines = data.splitlines(keepends=True)

    async def slowly() -> AsyncIterator[bytes]:
        for line in lines:
            yield line
            await asyncio.sleep(STATEMENT_TIMEOUT_MS / 1000 * 0.6)

    response = await racer.post(
        "/v1/imports",
        role=Role.admin,
        content=slowly(),
        headers={"Content-Type": "text/csv"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 4, response.json()


async def test_editions_published_at_once_each_take_their_own_number(racer: Api) -> None:
    responses = await asyncio.gather(
        *(racer.post("/v1/cities/LBBEY/editions", role=Role.admin) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    numbers = sorted(int(r.json()["id"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(numbers[0], numbers[0] + 4)), numbers
    for response in responses:
        edition = response.json()
        read = await racer.get(f"/v1/editions/{edition['id']}")
        assert read.json()["snapshot"]["edition"]["id"] == edition["id"]
