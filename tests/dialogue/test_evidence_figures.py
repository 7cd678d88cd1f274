"""What a recommendation's `measures` evidence shows of its city's figures: the value at the
recommendation's date and the latest one, read from a real profiles API over real HTTP; and
the read that still answers, without them and with a note, when profiles is stopped or hangs.

The module has a committed database of its own (a copy of the run's seeded template): the
profiles server reads with its own connections what the test wrote through it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import update

from services.dialogue_api.app import create_app as create_dialogue_app
from services.dialogue_api.recommendations.figures import UNAVAILABLE
from services.dialogue_api.recommendations.models import Recommendation
from services.profiles_api.app import create_app as create_profiles_app
from shared.db import Database
from shared.settings import Settings
from tests.conftest import make_settings
from tests.dialogue.factories import create_event, create_recommendation
from tests.factories import Api, observation
from tests.waiting import eventually

HOST = "127.0.0.1"
#: The recommendation's date in these tests: between Madrid's 2019 and 2023 figures.
RECOMMENDED_ON = datetime(2021, 6, 1, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def committed_settings(seeded_database: str, server_urls: tuple[str, str]) -> Settings:
    return make_settings(seeded_database, server_urls[1])


def listening_socket() -> socket.socket:
    """A socket listening on a port of the system's choosing (nobody can take it meanwhile)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen(100)
    server.setblocking(False)
    return server


class ProfilesServer:
    """The profiles app served by uvicorn on a real port, in the test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.socket = listening_socket()
        self.url = f"http://{HOST}:{self.socket.getsockname()[1]}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        app = create_profiles_app(self.settings)
        # No log_config: uvicorn would reconfigure the process's loggers for later tests.
        config = uvicorn.Config(app, host=HOST, log_config=None, lifespan="on")
        self._server = server = uvicorn.Server(config)
        self._task = asyncio.create_task(server.serve(sockets=[self.socket]))
        await eventually(lambda: server.started, message="profiles served")

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._task, timeout=15)
        self.socket.close()


@asynccontextmanager
async def dialogue_reading(settings: Settings, profiles_url: str) -> AsyncIterator[Api]:
    """The dialogue app (its lifespan running) reading figures from ``profiles_url``."""
    settings = settings.model_copy(update={"profiles_api_url": profiles_url})
    app = create_dialogue_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://dialogue.test",
        ) as client,
    ):
        yield Api(client, settings)


@pytest.fixture
async def profiles(committed_settings: Settings) -> AsyncIterator[ProfilesServer]:
    server = ProfilesServer(committed_settings)
    await server.start()
    try:
        yield server
    finally:
        if server._task is not None and not server._task.done():
            await server.stop()


async def record_madrid_figures(profiles: ProfilesServer) -> None:
    """Madrid's foreign nationals: totals of 2019 and 2023 for the municipality, a 2024 total
    of the metropolitan area and a 2023 breakdown by sex (neither of which is the baseline
    or the latest of the municipality). The demo data has 2017-07-01."""
    source = {
        "title": "Padrón municipal de habitantes",
        "publisher": "Ayuntamiento de Madrid",
        "url": "https://www.madrid.es/",
        "kind": "register",
    }

    def madrid(**fields: Any) -> dict[str, Any]:
        return observation(**{"city": "ESMAD", "source": source, **fields})

    async with httpx.AsyncClient(base_url=profiles.url) as client:
        response = await Api(client, profiles.settings).post(
            "/v1/observations",
            role=Api.ADMIN,
            json={
                "observations": [
                    madrid(period="2019", value=420000),
                    madrid(period="2023", value=450000),
                    madrid(period="2023", value=230000, dimensions={"sex": "F"}),
                    madrid(period="2024", value=800000, scope="metro"),
                ]
            },
        )
    assert response.status_code == 200, response.text


async def recommend(dialogue: Api, database: Database, **fields: Any) -> dict[str, Any]:
    """A recommendation with ``fields``, dated ``RECOMMENDED_ON``; its id."""
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"], **fields)
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            update(Recommendation)
            .where(Recommendation.id == created["id"])
            .values(created_at=RECOMMENDED_ON)
        )
    return created


MEASURED = [
    {"city": "ESMAD", "indicator": "foreign_nationals", "role": "measures"},
    {"city": "ESMAD", "indicator": "foreign_nationals", "role": "motivates"},
    {"city": "TNTUN", "indicator": "reception_places", "role": "measures"},
]


def by_role_and_city(recommendation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(link["role"], link["city"]): link for link in recommendation["evidence"]}


async def test_measures_evidence_shows_the_figure_at_the_recommendations_date_and_the_latest(
    committed_settings: Settings, profiles: ProfilesServer
) -> None:
    await record_madrid_figures(profiles)
    database = Database.from_settings(committed_settings, application_name="test-figures")
    try:
        async with dialogue_reading(committed_settings, profiles.url) as dialogue:
            created = await recommend(dialogue, database, evidence=MEASURED)
            read = await dialogue.get(f"/v1/recommendations/{created['id']}")
            assert read.status_code == 200, read.text
            listed = await dialogue.get(f"/v1/recommendations?event={created['event']}")
            assert listed.status_code == 200, listed.text
    finally:
        await database.dispose()

    for recommendation in (read.json(), listed.json()["items"][0]):
        links = by_role_and_city(recommendation)
        madrid = links["measures", "ESMAD"]
        assert madrid["indicator_names"]["fr"] == "Résidents de nationalité étrangère", madrid
        assert madrid["indicator_unit"] == "persons", madrid
        # 2019 is the last figure before 1 June 2021; 2023 the latest of the municipality (the
        # metropolitan 2024 and the breakdown by sex are not comparable).
        assert madrid["baseline"] == {
            "period": "2019",
            "period_start": "2019-01-01",
            "period_end": "2019-12-31",
            "scope": "municipality",
            "value": 420000.0,
            "obs_status": "A",
        }, madrid
        assert (madrid["latest"]["period"], madrid["latest"]["value"]) == ("2023", 450000.0)
        assert madrid["figures_note"] is None, madrid
        # The same indicator motivating it: named, no figures.
        motivating = links["motivates", "ESMAD"]
        assert motivating["indicator_names"] == madrid["indicator_names"], motivating
        assert (motivating["baseline"], motivating["latest"]) == (None, None), motivating
        # Tunis has no reception places in profiles: absent, and said so.
        tunis = links["measures", "TNTUN"]
        assert (tunis["baseline"], tunis["latest"]) == (None, None), tunis
        assert "no figure" in tunis["figures_note"], tunis


async def test_without_profiles_the_recommendation_reads_without_figures_and_says_why(
    committed_settings: Settings, profiles: ProfilesServer
) -> None:
    await record_madrid_figures(profiles)
    database = Database.from_settings(committed_settings, application_name="test-figures")
    try:
        async with dialogue_reading(committed_settings, profiles.url) as dialogue:
            created = await recommend(dialogue, database, evidence=MEASURED[:1])
            url = f"/v1/recommendations/{created['id']}"
            before = (await dialogue.get(url)).json()
            assert before["evidence"][0]["latest"]["value"] == 450000.0, before

            await profiles.stop()
            read = await dialogue.get(url)
            listed = await dialogue.get(f"/v1/recommendations?event={created['event']}")
            added = await dialogue.post(
                f"{url}/evidence",
                role=Api.ADMIN,
                json={"city": "ITTRN", "indicator": "foreign_nationals", "role": "measures"},
            )
    finally:
        await database.dispose()

    assert read.status_code == 200, read.text
    assert listed.status_code == 200, listed.text
    assert added.status_code == 201, added.text
    for link in (
        read.json()["evidence"][0],
        listed.json()["items"][0]["evidence"][0],
        added.json(),
    ):
        assert (link["baseline"], link["latest"]) == (None, None), link
        assert link["figures_note"] == UNAVAILABLE, link
        # The read model still names the indicator.
        assert link["indicator_names"]["en"] == "Residents with a foreign nationality", link
    # The representation is the recommendation's: its ETag does not move with the figures.
    assert read.headers["ETag"] == f'"{before["version"]}"'


async def test_a_profiles_api_that_hangs_delays_a_read_by_its_timeout_only(
    committed_settings: Settings,
) -> None:
    # Connections are accepted (the kernel's backlog) but never answered.
    silent = listening_socket()
    settings = committed_settings.model_copy(update={"profiles_api_timeout_seconds": 0.5})
    database = Database.from_settings(settings, application_name="test-figures")
    try:
        url = f"http://{HOST}:{silent.getsockname()[1]}"
        async with dialogue_reading(settings, url) as dialogue:
            created = await recommend(dialogue, database, evidence=MEASURED[:1])
            started = time.monotonic()
            read = await dialogue.get(f"/v1/recommendations/{created['id']}")
            elapsed = time.monotonic() - started
    finally:
        await database.dispose()
        silent.close()

    assert read.status_code == 200, read.text
    assert read.json()["evidence"][0]["figures_note"] == UNAVAILABLE, read.json()
    assert 0.5 <= elapsed < 5, f"the read took {elapsed:.2f} s with a 0.5 s limit"
