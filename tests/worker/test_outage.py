"""Redis lost and back: writes never wait for it, and what they announce arrives afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.worker.conftest import Platform, eventually, open_platform, platform_settings
from tests.worker.redis_server import RedisServer


@pytest.fixture
async def outage(
    platform_database: str, tmp_path: Path
) -> AsyncIterator[tuple[Platform, RedisServer]]:
    server = RedisServer(tmp_path)
    server.start()
    settings = platform_settings(platform_database, server.url, outbox_redeliver_after_seconds=2)
    try:
        async with open_platform(settings) as platform:
            yield platform, server
    finally:
        server.stop()


async def test_writes_made_while_redis_is_down_succeed_and_are_relayed_when_it_returns(
    outage: tuple[Platform, RedisServer],
) -> None:
    platform, server = outage
    async with platform.worker():
        server.stop()
        statuses = []
        for n in range(100):
            response = await platform.profiles.request(
                "POST",
                "/v1/cities",
                role=Role.admin,
                json=city(code(n)),
            )
            statuses.append(response.status_code)
        assert statuses == [201] * 100

        server.start()

        async def all_known() -> bool:
            response = await platform.dialogue.request("GET", "/v1/cities", params={"limit": 1000})
            codes = {item["code"] for item in response.json()["items"]}
            return {code(n) for n in range(100)} <= codes

        await eventually(all_known, timeout=30)


#: The outage test's writes: a city and its population figure, for each of these cities.
CITIES = 50
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
