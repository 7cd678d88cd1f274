"""The dialogue's read model of the network's cities: fed by events, checked by every write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.cities.models import CityRef as CityRefRow
from services.dialogue_api.cities.service import apply_city_deleted, apply_city_upserted
from shared.contracts.cities import CityRef, MembershipStatus, Region
from tests.dialogue.factories import new_event
from tests.factories import Api, assert_problem, error_fields

DEMO_CODES = {"PTLIS", "ESMAD", "FRLYS", "ITTRN", "MATNG", "TNTUN", "LBBEY", "JOAMM", "ATVIE"}


def athens(**overrides: object) -> CityRef:
    values: dict[str, object] = {
        "code": "GRATH",
        "names": {"en": "Athens", "fr": "Athènes"},
        "country": "GR",
        "region": Region.europe,
        "timezone": "Europe/Athens",
        "membership_status": MembershipStatus.expected,
    }
    values.update(overrides)
    return CityRef.model_validate(values)


async def test_the_dialogue_knows_the_demo_cities(dialogue: Api) -> None:
    response = await dialogue.get("/v1/cities", headers={"Accept-Language": "fr"})

    assert response.status_code == 200, response.text
    cities = {city["code"]: city for city in response.json()["items"]}
    assert set(cities) == DEMO_CODES, cities
    assert cities["PTLIS"]["name"] == "Lisbonne", cities["PTLIS"]


async def test_a_city_upserted_event_makes_the_city_usable_in_writes(
    dialogue: Api, session: AsyncSession
) -> None:
    refused = await dialogue.post("/v1/events", role=Api.ADMIN, json=new_event(host_city="GRATH"))
    assert error_fields(assert_problem(refused, 422)) == {"host_city"}

    assert await apply_city_upserted(session, athens(), changed_at=datetime.now(UTC))
    await session.flush()

    accepted = await dialogue.post("/v1/events", role=Api.ADMIN, json=new_event(host_city="GRATH"))
    assert accepted.status_code == 201, accepted.text
    assert (await dialogue.get("/v1/cities/GRATH")).json()["membership_status"] == "expected"


async def test_an_older_event_does_not_overwrite_a_newer_state(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    await apply_city_upserted(
        session, athens(membership_status=MembershipStatus.confirmed), changed_at=now
    )

    applied = await apply_city_upserted(session, athens(), changed_at=now - timedelta(minutes=1))

    assert applied is False
    row = await session.get(CityRefRow, "GRATH")
    assert row is not None and row.membership_status == "confirmed"


async def test_applying_the_same_event_twice_changes_nothing_the_second_time(
    session: AsyncSession,
) -> None:
    now = datetime.now(UTC)

    assert await apply_city_upserted(session, athens(), changed_at=now) is True
    assert await apply_city_upserted(session, athens(), changed_at=now) is False


async def test_a_removed_city_is_kept_but_refused_in_new_writes(
    dialogue: Api, session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    await apply_city_upserted(session, athens(), changed_at=now)
    await session.flush()
    event = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(participating_cities=["GRATH"])
    )
    assert event.status_code == 201, event.text

    assert await apply_city_deleted(session, "GRATH", changed_at=now + timedelta(seconds=1))
    await session.flush()

    assert_problem(await dialogue.get("/v1/cities/GRATH"), 404)
    kept = await dialogue.get(f"/v1/events/{event.json()['id']}")
    assert kept.json()["participating_cities"] == ["GRATH"], kept.json()
    refused = await dialogue.post(
        "/v1/events", role=Api.ADMIN, json=new_event(participating_cities=["PTLIS", "GRATH"])
    )
    problem = assert_problem(refused, 422)
    assert error_fields(problem) == {"participating_cities.1"}, problem


async def test_a_city_upserted_after_its_removal_returns(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    await apply_city_upserted(session, athens(), changed_at=now)
    await apply_city_deleted(session, "GRATH", changed_at=now + timedelta(seconds=1))

    assert await apply_city_upserted(session, athens(), changed_at=now + timedelta(seconds=2))

    row = await session.get(CityRefRow, "GRATH")
    assert row is not None and row.removed_at is None


async def test_unknown_city_is_404(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/cities/GRATH"), 404)
