"""The dialogue's read model of the indicator catalogue: what profiles announces of an
indicator (added, renamed, removed) reaches ``dialogue.indicator_ref`` through the worker, and
the resync repairs what drifted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from services.dialogue_api.indicators.models import IndicatorRef
from services.dialogue_api.indicators.tasks import resync_indicators
from services.worker.app import open_worker
from shared.auth import Role
from tests.waiting import eventually
from tests.worker.conftest import Platform

CODE = "language_classes_places"


def language_classes(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": CODE,
        "names": {"en": "Places in language classes", "fr": "Places en cours de langue"},
        "theme": "education",
        "unit": "count",
        "value_type": "integer",
        "aggregation": "sum",
    }
    body.update(overrides)
    return body


async def new_event(platform: Platform) -> int:
    response = await platform.dialogue.request(
        "POST",
        "/v1/events",
        role=Role.admin,
        json={
            "type": "technical_meeting",
            "title": {"en": "Technical meeting on language classes"},
            "themes": ["education"],
            "host_city": "TNTUN",
            "starts_at": "2027-03-10T09:00:00+01:00",
            "ends_at": "2027-03-11T17:00:00+01:00",
            "timezone": "Africa/Tunis",
            "venue": "Hôtel de Ville, Tunis",
        },
    )
    assert response.status_code == 201, response.text
    event_id: int = response.json()["id"]
    return event_id


async def recommend_with(platform: Platform, event_id: int, indicator: str) -> Any:
    """A recommendation whose evidence is ``indicator`` of Tunis: its response."""
    return await platform.dialogue.request(
        "POST",
        "/v1/recommendations",
        role=Role.admin,
        json={
            "event": event_id,
            "theme": "education",
            "text": {"en": "Open more places in language classes."},
            "governance_level": "local",
            "evidence": [{"city": "TNTUN", "indicator": indicator, "role": "motivates"}],
        },
    )


async def test_an_indicator_added_renamed_and_removed_in_profiles_reaches_the_dialogue(
    platform: Platform,
) -> None:
    event_id = await new_event(platform)
    # Not in the catalogue yet: evidence naming it is refused.
    refused = await recommend_with(platform, event_id, CODE)
    assert refused.status_code == 422, refused.text

    async with platform.worker():
        created = await platform.profiles.request(
            "POST", "/v1/indicators", role=Role.admin, json=language_classes()
        )
        assert created.status_code == 201, created.text

        async def accepted() -> Any:
            response = await recommend_with(platform, event_id, CODE)
            return response.status_code == 201 and response.json()

        recommendation = await eventually(accepted)
        (link,) = recommendation["evidence"]
        assert link["indicator_names"] == language_classes()["names"], link
        assert link["indicator_unit"] == "count", link

        names = {"en": "Seats in language classes", "ar": "مقاعد في دروس اللغة"}
        renamed = await platform.profiles.request(
            "PATCH",
            f"/v1/indicators/{CODE}",
            role=Role.admin,
            json={"names": names},
            headers={"If-Match": created.headers["ETag"]},
        )
        assert renamed.status_code == 200, renamed.text

        async def renamed_in_the_dialogue() -> bool:
            response = await platform.dialogue.request(
                "GET", f"/v1/recommendations/{recommendation['id']}"
            )
            return bool(response.json()["evidence"][0]["indicator_names"] == names)

        await eventually(renamed_in_the_dialogue)

        removed = await platform.profiles.request(
            "DELETE", f"/v1/indicators/{CODE}", role=Role.admin
        )
        assert removed.status_code == 204, removed.text

        async def refused_again() -> bool:
            return (await recommend_with(platform, event_id, CODE)).status_code == 422

        await eventually(refused_again)

    # The evidence that named it still reads, with its last names.
    read = await platform.dialogue.request("GET", f"/v1/recommendations/{recommendation['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["evidence"][0]["indicator_names"] == names, read.json()


async def test_the_resync_repairs_a_drifted_read_model(platform: Platform) -> None:
    async with open_worker(platform.settings) as worker:
        await resync_indicators({"worker": worker})  # from whatever earlier tests left
        async with worker.database.sessionmaker() as session, session.begin():
            await session.execute(
                update(IndicatorRef)
                .where(IndicatorRef.code == "population")
                .values(removed_at=func.now())
            )
            await session.execute(
                update(IndicatorRef)
                .where(IndicatorRef.code == "foreign_born")
                .values(names={"en": "Stale name"}, unit="percent")
            )
            session.add(
                IndicatorRef(
                    code="ghost_indicator",
                    names={"en": "Ghost"},
                    unit="count",
                    source_changed_at=func.now(),
                )
            )
        repaired = await resync_indicators({"worker": worker})
        assert repaired == 3
        async with worker.database.sessionmaker() as session:
            rows = {
                row.code: row
                for row in await session.scalars(
                    select(IndicatorRef).where(
                        IndicatorRef.code.in_(["population", "foreign_born", "ghost_indicator"])
                    )
                )
            }
        assert rows["population"].removed_at is None
        assert rows["foreign_born"].names["en"] == "Residents born abroad", rows[
            "foreign_born"
        ].names
        assert rows["foreign_born"].unit == "persons"
        assert rows["ghost_indicator"].removed_at is not None
        # Nothing left to repair.
        assert await resync_indicators({"worker": worker}) == 0
