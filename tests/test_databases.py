"""The suite's databases: copies of the run's templates, each as a fresh migration and seed
would have made it (tests/conftest.py)."""

from __future__ import annotations

import asyncpg

from tests.conftest import create_database, drop_database


async def outbox_events(url: str) -> dict[str, list[tuple[str, str]]]:
    """Each schema's events as (row id, envelope id)."""
    connection = await asyncpg.connect(url)
    try:
        return {
            schema: [
                (str(row["id"]), row["envelope_id"])
                for row in await connection.fetch(
                    f"SELECT id, envelope->>'id' AS envelope_id FROM {schema}.outbox"
                )
            ]
            for schema in ("profiles", "dialogue")
        }
    finally:
        await connection.close()


async def test_each_copy_of_the_seeded_template_has_events_of_its_own(
    server_urls: tuple[str, str], seeded_template: str
) -> None:
    # The worker enqueues an event as the job of its id, and Redis (one for the run) keeps a
    # job's key after it ran: two copies sharing ids would see one copy's events never run.
    copies = [await create_database(server_urls[0], "mc2cm_test_copy", template=seeded_template)]
    try:
        copies.append(
            await create_database(server_urls[0], "mc2cm_test_copy", template=seeded_template)
        )
        original, first, second = [await outbox_events(url) for url in (seeded_template, *copies)]
    finally:
        for url in copies:
            await drop_database(url)

    assert original["profiles"], "the demo data announces its cities"
    for schema in ("profiles", "dialogue"):
        assert len(first[schema]) == len(second[schema]) == len(original[schema]), schema
        ids = [{row for row, _ in events[schema]} for events in (original, first, second)]
        assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2]), schema
        # The envelope a job receives names the event by the same id.
        assert all(row == envelope for row, envelope in first[schema]), first[schema][:3]
