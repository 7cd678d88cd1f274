"""What profiles announces of its catalogue (``indicator.changed``): the code, names and unit
of the indicator on every change of them, a rename included, and which fields changed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.db import outbox
from shared.contracts.events import IndicatorChanged
from tests.factories import Api, new_indicator, outbox_position


async def indicator_events(session: AsyncSession, after: int) -> list[IndicatorChanged]:
    rows = await session.execute(
        select(outbox.c.envelope)
        .where(outbox.c.position > after, outbox.c.type == IndicatorChanged.event_type)
        .order_by(outbox.c.position)
    )
    return [IndicatorChanged.model_validate(row.envelope["data"]) for row in rows]


async def etag(api: Api, code: str) -> str:
    response = await api.get(f"/v1/indicators/{code}")
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def test_adding_an_indicator_announces_its_code_names_and_unit(
    api: Api, session: AsyncSession
) -> None:
    before = await outbox_position(session)
    created = await api.post("/v1/indicators", role=Api.ADMIN, json=new_indicator())
    assert created.status_code == 201, created.text
    (event,) = await indicator_events(session, before)
    assert (event.code, event.names, event.unit) == (
        "language_classes_places",
        {"en": "Places in language classes", "fr": "Places en cours de langue"},
        "count",
    ), event
    assert event.created and not event.removed, event
    assert {"names", "unit", "aggregation", "formula", "theme", "dimensions"} == set(
        event.changed_fields
    ), event
    assert event.changes_aggregation


async def test_a_rename_is_announced_with_the_new_names_and_no_recomputation(
    api: Api, session: AsyncSession
) -> None:
    before = await outbox_position(session)
    names = {"en": "Foreign residents", "fr": "Résidents étrangers", "ar": "المقيمون الأجانب"}
    renamed = await api.patch(
        "/v1/indicators/foreign_nationals",
        role=Api.ADMIN,
        json={"names": names},
        headers={"If-Match": await etag(api, "foreign_nationals")},
    )
    assert renamed.status_code == 200, renamed.text
    (event,) = await indicator_events(session, before)
    assert (event.code, event.names, event.unit) == ("foreign_nationals", names, "persons")
    assert event.changed_fields == ["names"], event
    # Aggregates do not depend on names: their handler has nothing to recompute.
    assert not event.changes_aggregation

    # The same names again change nothing, and announce nothing.
    again = await api.patch(
        "/v1/indicators/foreign_nationals",
        role=Api.ADMIN,
        json={"names": names},
        headers={"If-Match": await etag(api, "foreign_nationals")},
    )
    assert again.status_code == 200, again.text
    assert len(await indicator_events(session, before)) == 1


async def test_a_change_of_unit_and_of_aggregation_names_both(
    api: Api, session: AsyncSession
) -> None:
    created = await api.post("/v1/indicators", role=Api.ADMIN, json=new_indicator())
    assert created.status_code == 201, created.text
    before = await outbox_position(session)
    changed = await api.patch(
        "/v1/indicators/language_classes_places",
        role=Api.ADMIN,
        json={"unit": "persons", "aggregation": "mean", "descriptions": {"en": "Seats."}},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    (event,) = await indicator_events(session, before)
    assert event.unit == "persons", event
    assert event.names["en"] == "Places in language classes", event
    assert sorted(event.changed_fields) == ["aggregation", "unit"], event
    assert event.changes_aggregation


async def test_a_description_alone_is_not_announced(api: Api, session: AsyncSession) -> None:
    before = await outbox_position(session)
    changed = await api.patch(
        "/v1/indicators/population",
        role=Api.ADMIN,
        json={"descriptions": {"en": "Everyone living in the city."}},
        headers={"If-Match": await etag(api, "population")},
    )
    assert changed.status_code == 200, changed.text
    assert await indicator_events(session, before) == []


async def test_removing_an_indicator_announces_it_with_its_last_names(
    api: Api, session: AsyncSession
) -> None:
    created = await api.post("/v1/indicators", role=Api.ADMIN, json=new_indicator())
    assert created.status_code == 201, created.text
    before = await outbox_position(session)
    removed = await api.delete("/v1/indicators/language_classes_places", role=Api.ADMIN)
    assert removed.status_code == 204, removed.text
    (event,) = await indicator_events(session, before)
    assert event.removed and event.code == "language_classes_places", event
    assert event.names["en"] == "Places in language classes", event
    assert event.changes_aggregation


def test_an_event_written_before_names_were_carried_still_reads() -> None:
    legacy = IndicatorChanged.model_validate(
        {"code": "population", "changed_fields": ["formula"], "created": False, "removed": False}
    )
    assert (legacy.names, legacy.unit) == ({}, None)
    assert legacy.changes_aggregation
