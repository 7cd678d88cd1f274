"""The audit mechanism (shared/audit/): every table decides how it is recorded, values are
kept as JSON with long texts and secrets left out, and writes outside requests are the
system's."""

from __future__ import annotations

import enum
import gc
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Session

from services.dialogue_api.db import Base as DialogueBase
from services.dialogue_api.db import audit_log_table as dialogue_log
from services.dialogue_api.metadata import metadata as dialogue_metadata
from services.dialogue_api.webhooks.models import WebhookSubscription
from services.dialogue_api.webhooks.repository import WebhookRepository
from services.profiles_api.db import Base as ProfilesBase
from services.profiles_api.metadata import metadata as profiles_metadata
from shared.audit import MAX_TEXT_LENGTH, REDACTED, Audited, audits, jsonable
from shared.db import Database


def mapped_classes(base: type[DeclarativeBase]) -> list[type[Any]]:
    return [mapper.class_ for mapper in base.registry.mappers]


@pytest.mark.parametrize("base", [ProfilesBase, DialogueBase], ids=["profiles", "dialogue"])
def test_every_table_of_a_service_says_how_it_is_audited(base: type[DeclarativeBase]) -> None:
    assert profiles_metadata is ProfilesBase.metadata and dialogue_metadata is DialogueBase.metadata
    silent = [cls.__name__ for cls in mapped_classes(base) if "__audit__" not in vars(cls)]
    assert silent == [], f"models without __audit__ (Audited(...) or NOT_AUDITED): {silent}"
    for cls in mapped_classes(base):
        spec = vars(cls)["__audit__"]
        if isinstance(spec, Audited) and spec.city is not None:
            assert spec.city in cls.__mapper__.column_attrs, (cls.__name__, spec.city)


class Colour(enum.StrEnum):
    red = "red"


def test_values_are_kept_as_json_and_long_texts_as_their_length_and_hash() -> None:
    long = "x" * (MAX_TEXT_LENGTH + 1)
    kept = jsonable(
        {
            "when": datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
            "day": date(2026, 12, 1),
            "colour": Colour.red,
            "amount": Decimal("12.50"),
            "themes": ("housing", "health"),
            "narrative": {"en": long, "fr": "court"},
            "exact": "y" * MAX_TEXT_LENGTH,
        }
    )
    assert kept["when"] == "2026-12-01T16:00:00+00:00"
    assert kept["day"] == "2026-12-01"
    assert kept["colour"] == "red"
    assert kept["amount"] == "12.50"
    assert kept["themes"] == ["housing", "health"]
    assert kept["narrative"]["fr"] == "court"
    assert kept["narrative"]["en"]["length"] == MAX_TEXT_LENGTH + 1, kept
    assert len(kept["narrative"]["en"]["sha256"]) == 64, kept
    assert kept["exact"] == "y" * MAX_TEXT_LENGTH


async def entries_of(session: AsyncSession, subscription_id: int) -> list[Any]:
    rows = await session.execute(
        select(dialogue_log)
        .where(
            dialogue_log.c.resource == "webhook_subscription",
            dialogue_log.c.resource_id == str(subscription_id),
        )
        .order_by(dialogue_log.c.id)
    )
    return list(rows)


async def test_failed_deliveries_record_nothing_until_the_worker_disables_the_subscription(
    session: AsyncSession,
) -> None:
    subscription = WebhookSubscription(
        url="https://partner.example.org/failing",
        event_types=["event.changed"],
        secret="whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==",
        created_by="admin@test",
    )
    session.add(subscription)
    await session.flush()
    (created,) = await entries_of(session, subscription.id)
    assert (created.actor, created.actor_role, created.action) == ("system", None, "create")
    assert created.change["secret"] == REDACTED, created.change

    repository = WebhookRepository.from_session(session)
    await repository.record_failure(subscription.id, disable_after=2)
    assert len(await entries_of(session, subscription.id)) == 1  # a count is no change

    await repository.record_failure(subscription.id, disable_after=2)
    entries = await entries_of(session, subscription.id)
    assert len(entries) == 2, entries
    disabled = entries[1]
    assert (disabled.actor, disabled.action) == ("system", "update"), disabled
    assert disabled.change["active"] == [True, False], disabled.change
    assert "consecutive_failures" not in disabled.change, disabled.change


def subscription(name: str) -> WebhookSubscription:
    return WebhookSubscription(
        url=f"https://partner.example.org/{name}",
        event_types=["event.changed"],
        secret="whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==",
        created_by="admin@test",
    )


def test_a_database_made_after_many_others_still_decides_for_itself(profiles_app: FastAPI) -> None:
    """Databases come and go (a test's app, a command, a worker built again): the session
    class of each is new, and may sit where a collected one was. Whether it audits is its
    own decision, whatever the collected one had (SQLAlchemy's ``event.contains`` keys by
    ``id`` and once answered for the dead class: audited writes went unrecorded)."""
    engine = profiles_app.state.database.engine
    for turn in range(400):
        audit = turn % 2 == 0
        database = Database(engine, audit=audit)
        listeners = list(database.session_class().dispatch.after_flush)
        assert audits(database.session_class) is audit, turn
        assert bool(listeners) is audit, turn
        del database, listeners
        if turn % 25 == 0:
            gc.collect()


async def test_each_database_decides_for_its_own_sessions_whether_they_are_audited(
    profiles_app: FastAPI, connection: AsyncConnection
) -> None:
    """The flush listener is registered on each ``Database``'s session class, not on every
    ``Session`` of the process: two databases in one process do not share it."""
    audited: Database = profiles_app.state.database
    unaudited = Database(audited.engine, audit=False)
    assert audits(audited.session_class) and not audits(unaudited.session_class)
    assert not audits(Session), "the audit listener is registered on every Session"
    assert audited.session_class is not unaudited.session_class

    written = {}
    for name, sessions in (
        ("audited", audited.sessions(connection, join_transaction_mode="create_savepoint")),
        ("unaudited", unaudited.sessions(connection, join_transaction_mode="create_savepoint")),
        ("bare", async_sessionmaker(connection, join_transaction_mode="create_savepoint")),
    ):
        async with sessions() as session:
            added = subscription(name)
            session.add(added)
            await session.flush()
            written[name] = added.id
            await session.commit()  # into the test's transaction, rolled back after it

    async with audited.sessions(connection, join_transaction_mode="create_savepoint")() as reader:
        counts = {name: len(await entries_of(reader, id_)) for name, id_ in written.items()}
    assert counts == {"audited": 1, "unaudited": 0, "bare": 0}, counts
