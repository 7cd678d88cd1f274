"""The outbox relay and the city read model: what profiles announces reaches the dialogue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, select, update

from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.cities.tasks import resync_cities
from services.profiles_api.db import outbox as profiles_outbox
from services.worker.app import open_worker
from services.worker.relay import relay, sweep_outbox
from shared.auth import Role
from tests.waiting import eventually
from tests.worker.conftest import Platform


def athens(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "GRATH",
        "names": {"en": "Athens", "fr": "Athènes"},
        "country": "GR",
        "region": "europe",
        "latitude": 37.98,
        "longitude": 23.73,
        "timezone": "Europe/Athens",
        "membership": {"status": "expected", "since": "2026-01-15"},
    }
    body.update(overrides)
    return body


async def test_a_city_created_in_profiles_becomes_known_to_the_dialogue(
    platform: Platform,
) -> None:
    started = datetime.now(UTC)
    async with platform.worker():
        created = await platform.profiles.request(
            "POST", "/v1/cities", role=Role.admin, json=athens()
        )
        assert created.status_code == 201, created.text

        async def known() -> Any:
            response = await platform.dialogue.request("GET", "/v1/cities/GRATH")
            return response.status_code == 200 and response.json()

        city = await eventually(known)
        assert city["names"]["en"] == "Athens"
        assert city["timezone"] == "Europe/Athens"

        removed = await platform.profiles.request("DELETE", "/v1/cities/GRATH", role=Role.admin)
        assert removed.status_code == 204, removed.text

        async def gone() -> bool:
            response = await platform.dialogue.request("GET", "/v1/cities/GRATH")
            return response.status_code == 404

        await eventually(gone)

    # Every event the worker took is marked handled. (Only this test's: the workers of
    # earlier tests in the module may have left events of theirs relayed to their queues.)
    async with open_worker(platform.settings) as worker, worker.database.sessionmaker() as s:
        unhandled = await s.scalar(
            select(func.count())
            .select_from(profiles_outbox)
            .where(
                profiles_outbox.c.type.like("city.%"),
                profiles_outbox.c.occurred_at >= started,
                profiles_outbox.c.handled_at.is_(None),
            )
        )
    assert unhandled == 0


async def test_relaying_twice_at_once_enqueues_each_event_once(platform: Platform) -> None:
    async with open_worker(platform.settings) as worker:
        async with worker.database.sessionmaker() as session, session.begin():
            # Events earlier tests left, relayed or not, are not this test's business.
            await session.execute(
                update(profiles_outbox)
                .where(profiles_outbox.c.handled_at.is_(None))
                .values(
                    relayed_at=func.coalesce(profiles_outbox.c.relayed_at, func.now()),
                    handled_at=func.now(),
                )
            )
        for n in range(3):
            response = await platform.profiles.request(
                "PATCH",
                "/v1/cities/PTLIS",
                role=Role.admin,
                json={"names": {"en": "Lisbon", "pt": f"Lisboa {n}"}},
                headers={"If-Match": await etag(platform, "PTLIS")},
            )
            assert response.status_code == 200, response.text

        first, second = await asyncio.gather(relay(worker), relay(worker))
        assert first + second == 3
        queued = await worker.redis.zcard(platform.settings.queue_name)
        assert queued == 3
        # A relay after both finds nothing left.
        assert await relay(worker) == 0

        # A row marked relayed but never handled (its job lost with a Redis that restarted
        # empty) is enqueued again once it is older than the redelivery delay.
        await forget_jobs(worker.redis, platform.settings.queue_name)
        async with worker.database.sessionmaker() as session, session.begin():
            await session.execute(
                update(profiles_outbox)
                .where(profiles_outbox.c.handled_at.is_(None))
                .values(relayed_at=func.now() - func.make_interval(0, 0, 0, 1))
            )
        assert await relay(worker, redeliver=True) == 3
        assert await worker.redis.zcard(platform.settings.queue_name) == 3
        # While those jobs exist, redelivering again adds none.
        assert await relay(worker, redeliver=True) == 0
        await forget_jobs(worker.redis, platform.settings.queue_name)


async def forget_jobs(redis: ArqRedis, queue: str) -> None:
    """Lose the queue and its jobs, as a Redis restarted without its data would."""
    keys = [key async for key in redis.scan_iter("arq:job:outbox:*")]
    await redis.delete(queue, *keys)


async def etag(platform: Platform, code: str) -> str:
    response = await platform.profiles.request("GET", f"/v1/cities/{code}", role=Role.admin)
    return response.headers["ETag"]


async def test_the_nightly_resync_repairs_a_drifted_read_model(platform: Platform) -> None:
    async with open_worker(platform.settings) as worker:
        await resync_cities({"worker": worker})  # from whatever earlier tests left
        async with worker.database.sessionmaker() as session, session.begin():
            await session.execute(
                update(CityRef).where(CityRef.code == "TNTUN").values(removed_at=func.now())
            )
            await session.execute(
                update(CityRef).where(CityRef.code == "ESMAD").values(timezone="UTC")
            )
            session.add(
                CityRef(
                    code="XXGHO",
                    names={"en": "Ghost"},
                    country="XX",
                    region="europe",
                    timezone="UTC",
                    membership_status="expected",
                    source_changed_at=func.now(),
                )
            )
        repaired = await resync_cities({"worker": worker})
        assert repaired == 3
        async with worker.database.sessionmaker() as session:
            rows = {
                row.code: row
                for row in await session.scalars(
                    select(CityRef).where(CityRef.code.in_(["TNTUN", "ESMAD", "XXGHO"]))
                )
            }
        assert rows["TNTUN"].removed_at is None
        assert rows["ESMAD"].timezone == "Europe/Madrid"
        assert rows["XXGHO"].removed_at is not None
        # Nothing left to repair.
        assert await resync_cities({"worker": worker}) == 0


async def test_the_outbox_sweep_cron_job_relays_what_waits(platform: Platform) -> None:
    async with open_worker(platform.settings) as worker:
        async with worker.database.sessionmaker() as session, session.begin():
            await session.execute(
                update(profiles_outbox)
                .where(profiles_outbox.c.relayed_at.is_(None))
                .values(relayed_at=func.now(), handled_at=func.now())
            )
        response = await platform.profiles.request(
            "PATCH",
            "/v1/cities/PTLIS",
            role=Role.admin,
            json={"names": {"en": "Lisbon", "pt": "Lisboa (sweep)"}},
            headers={"If-Match": await etag(platform, "PTLIS")},
        )
        assert response.status_code == 200, response.text
        assert await sweep_outbox({"worker": worker}) == 1
        assert await worker.redis.zcard(platform.settings.queue_name) == 1
        assert await sweep_outbox({"worker": worker}) == 0
        await forget_jobs(worker.redis, platform.settings.queue_name)
