"""Redis lost and back: writes never wait for it, and what they announce arrives afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.dialogue.factories import create_event, create_person
from tests.waiting import eventually
from tests.worker.conftest import Platform, open_platform, platform_settings
from tests.worker.receivers import SmtpSink, WebhookReceiver
from tests.worker.redis_server import RedisServer


@pytest.fixture
async def outage(
    seeded_database: str, tmp_path: Path
) -> AsyncIterator[tuple[Platform, RedisServer]]:
    server = RedisServer(tmp_path)
    server.start()
    settings = platform_settings(seeded_database, server.url, outbox_redeliver_after_seconds=2)
    try:
        async with open_platform(settings) as platform:
            yield platform, server
    finally:
        server.stop()


async def test_writes_made_while_redis_is_down_succeed_and_what_they_announce_arrives_once(
    outage: tuple[Platform, RedisServer],
) -> None:
    platform, server = outage
    with SmtpSink() as sink:
        async with WebhookReceiver() as receiver:
            await _outage_and_recovery(platform, server, sink, receiver)


async def _outage_and_recovery(
    platform: Platform, server: RedisServer, sink: SmtpSink, receiver: WebhookReceiver
) -> None:
    subscription = await platform.dialogue.post(
        "/v1/webhooks",
        role=Role.admin,
        json={"url": receiver.url, "event_types": ["registration.changed"]},
    )
    assert subscription.status_code == 201, subscription.text
    receiver.secret = subscription.json()["secret"]
    event = await create_event(platform.dialogue)
    people = [await create_person(platform.dialogue) for _ in range(REGISTRATIONS)]

    async with platform.worker(smtp_host="127.0.0.1", smtp_port=sink.port):
        server.stop()
        # 100 writes while Redis is away: registrations, cities and their figures.
        statuses = []
        for person in people:
            registered = await platform.dialogue.post(
                f"/v1/events/{event['id']}/registrations",
                role=Role.admin,
                json={"person": person["id"], "status": "registered"},
            )
            statuses.append(registered.status_code)
        for n in range(CITIES):
            created = await platform.profiles.post(
                "/v1/cities", role=Role.admin, json=city(code(n))
            )
            counted = await platform.profiles.post(
                "/v1/observations",
                role=Role.admin,
                json={"observations": [population(code(n), POPULATIONS[n])]},
            )
            statuses += [created.status_code, counted.status_code]
        assert statuses == [201] * REGISTRATIONS + [201, 200] * CITIES

        server.start()

        async def all_known() -> bool:
            response = await platform.dialogue.get("/v1/cities", params={"limit": 1000})
            codes = {item["code"] for item in response.json()["items"]}
            return {code(n) for n in range(CITIES)} <= codes

        async def network_population() -> Any:
            response = await platform.profiles.get(
                "/v1/aggregates",
                params={
                    "indicator": "population",
                    "period": PERIOD,
                    "group": "network",
                    "disaggregation": "",
                },
            )
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            return items if items and items[0]["city_count"] == CITIES else None

        async def everyone_told() -> bool:
            mailed = all(sink.to(person["email"]) for person in people)
            return mailed and len(receiver.received) >= REGISTRATIONS

        await eventually(all_known, timeout=30)
        aggregates = await eventually(network_population, timeout=30)
        await eventually(everyone_told, timeout=30)
        await asyncio.sleep(1)  # time enough for a duplicate to show, were there one

    assert len(aggregates) == 1
    assert aggregates[0]["value"] == sum(POPULATIONS)
    for person in people:
        assert len(sink.to(person["email"])) == 1, person["email"]
    assert len(receiver.received) == REGISTRATIONS
    assert all(delivery.verified for delivery in receiver.received)
    assert len({delivery.webhook_id for delivery in receiver.received}) == REGISTRATIONS
    told = {delivery.payload["data"]["person_id"] for delivery in receiver.received}
    assert told == {person["id"] for person in people}


#: The outage test's 100 writes: 20 registrations, then a city and its population figure
#: for each of 40 cities.
REGISTRATIONS = 20
CITIES = 40
POPULATIONS = [10_000 + 137 * n for n in range(CITIES)]
#: A period no other figure of the database has, so the aggregate is these cities' alone.
PERIOD = "2031"


def population(city_code: str, value: int) -> dict[str, Any]:
    return {
        "city": city_code,
        "indicator": "population",
        "period": PERIOD,
        "scope": "municipality",
        "value": value,
        "source": {"title": "Register (outage test)", "kind": "register"},
    }


def code(n: int) -> str:
    """A city code of Greece not in the demo data: GRQAA, GRQAB…"""
    return "GRQ" + chr(ord("A") + n // 26) + chr(ord("A") + n % 26)


def city(code: str) -> dict[str, Any]:
    return {
        "code": code,
        "names": {"en": f"City {code}"},
        "country": "GR",
        "region": "europe",
        "latitude": 37.98,
        "longitude": 23.73,
        "timezone": "Europe/Athens",
        "membership": {"status": "expected", "since": "2026-01-15"},
    }
