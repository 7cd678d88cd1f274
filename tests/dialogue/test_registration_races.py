"""Registrations racing for the last place, through the API, with transactions that commit.

The ``dialogue`` fixture runs every request in one rolled-back connection, where requests
cannot race; here the app runs against a database of the module's own, so each request is a
real transaction on its own connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.types import Receive, Scope, Send

from services.dialogue_api.app import create_app
from services.dialogue_api.cities.service import apply_city_upserted
from services.dialogue_api.events.repository import PLACE_HOLDING
from services.dialogue_api.people.models import Person
from services.dialogue_api.registrations.models import Registration
from shared.contracts.cities import CityRef, MembershipStatus, Region
from shared.db import Database
from tests.conftest import make_settings
from tests.dialogue.factories import new_event
from tests.factories import Api

#: Registrations fired at once for the last place; fewer than the connection pool holds, so
#: they all reach PostgreSQL together and queue on the event's row lock.
RACERS = 12
CAPACITY = 3

CITIES = [
    CityRef(
        code="TNTUN",
        names={"en": "Tunis"},
        country="TN",
        region=Region.south_mediterranean,
        timezone="Africa/Tunis",
        membership_status=MembershipStatus.confirmed,
    ),
    CityRef(
        code="PTLIS",
        names={"en": "Lisbon"},
        country="PT",
        region=Region.europe,
        timezone="Europe/Lisbon",
        membership_status=MembershipStatus.confirmed,
    ),
]


class InFlight:
    """ASGI wrapper counting requests being handled at once, to show they overlapped."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.current = 0
        self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.current += 1
        self.most = max(self.most, self.current)
        try:
            await self.app(scope, receive, send)
        finally:
            self.current -= 1


@pytest.fixture(scope="module")
async def committed(
    own_database: Database, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[FastAPI, Database, Api]]:
    """The dialogue app on the module's own database (cities known), and a client of it."""
    async with own_database.sessionmaker() as setup, setup.begin():
        for city in CITIES:
            await apply_city_upserted(setup, city, changed_at=datetime.now(UTC))
    url = own_database.engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, server_urls[1], db_pool_size=RACERS + 2)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://dialogue.test"
        ) as client:
            yield app, own_database, Api(client, settings)


async def people(database: Database, count: int, round_no: int) -> list[int]:
    """Listed people of Lisbon, committed; their ids."""
    async with database.sessionmaker() as session, session.begin():
        added = [
            Person(
                name=f"Racer {round_no}.{n}",
                email=f"racer.{round_no}.{n}@example.org",
                role="expert",
                city_code="PTLIS",
                consent_listed=True,
            )
            for n in range(count)
        ]
        session.add_all(added)
        await session.flush()
        return [person.id for person in added]


async def register(api: Api, event_id: int, person_id: int) -> httpx.Response:
    return await api.post(
        f"/v1/events/{event_id}/registrations",
        role=Api.EDITOR,
        cities=("PTLIS",),
        json={"person": person_id, "status": "registered"},
    )


@pytest.mark.parametrize("round_no", range(3))
async def test_concurrent_registrations_for_the_last_place_give_it_to_exactly_one(
    committed: tuple[FastAPI, Database, Api], round_no: int
) -> None:
    app, database, api = committed
    created = await api.post(
        "/v1/events", role=Api.ADMIN, json=new_event(capacity=CAPACITY, participating_cities=[])
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    early, racers = (CAPACITY - 1, RACERS)
    person_ids = await people(database, early + racers, round_no)
    for person_id in person_ids[:early]:
        response = await register(api, event_id, person_id)
        assert response.json()["status"] == "registered", response.text

    counter = InFlight(app)
    transport = httpx.ASGITransport(app=counter, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dialogue.test") as client:
        racing = Api(client, api.settings)
        responses = await asyncio.gather(
            *(register(racing, event_id, person_id) for person_id in person_ids[early:])
        )

    # Every request was being handled while others were: they really raced. Without the
    # event's row lock each would count the places taken (CAPACITY - 1) before any of the
    # others committed, and all of them would take "the last" place.
    assert counter.most > 1, counter.most
    assert [r.status_code for r in responses] == [201] * racers, [r.text for r in responses]
    made: list[dict[str, Any]] = sorted((r.json() for r in responses), key=lambda r: r["id"])
    statuses = [registration["status"] for registration in made]
    assert statuses.count("registered") == 1, statuses
    assert statuses.count("waitlisted") == racers - 1, statuses
    # The lock serialised them: each one waiting was told its place in the queue, in the
    # order they got the lock (which is also the order of their ids).
    positions = [r["waitlist_position"] for r in made if r["status"] == "waitlisted"]
    assert positions == list(range(1, racers)), positions
    async with database.sessionmaker() as session:
        taken = await session.scalar(
            select(func.count()).where(
                Registration.event_id == event_id, Registration.status.in_(PLACE_HOLDING)
            )
        )
    assert taken == CAPACITY, taken
    places = (await api.get(f"/v1/events/{event_id}")).json()["places"]
    assert places == {
        "capacity": CAPACITY,
        "taken": CAPACITY,
        "available": 0,
        "waitlisted": racers - 1,
    }, places
