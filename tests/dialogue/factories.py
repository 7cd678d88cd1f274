"""Valid dialogue requests in one line, and ways to create what a test needs through the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.db import outbox
from tests.factories import Api


def new_event(**overrides: Any) -> dict[str, Any]:
    """A valid event: a technical meeting in Tunis in March 2027, hosted by Tunis."""
    body: dict[str, Any] = {
        "type": "technical_meeting",
        "title": {"en": "Technical meeting of focal points", "fr": "Réunion technique"},
        "themes": ["housing", "health"],
        "host_city": "TNTUN",
        "participating_cities": ["PTLIS", "ITTRN"],
        "venue": "Hôtel de Ville, Tunis",
        "starts_at": "2027-03-10T09:00:00+01:00",
        "ends_at": "2027-03-11T17:00:00+01:00",
        "timezone": "Africa/Tunis",
        "capacity": 30,
        "languages": ["en", "fr", "ar"],
    }
    body.update(overrides)
    return body


async def create_event(dialogue: Api, **overrides: Any) -> dict[str, Any]:
    """An event created by an administrator; its representation."""
    response = await dialogue.post("/v1/events", role=Api.ADMIN, json=new_event(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def dialogue_outbox_since(
    session: AsyncSession, position: int
) -> list[tuple[str, dict[str, Any]]]:
    """The dialogue's outbox events written after ``position``: (type, data)."""
    rows = await session.execute(
        select(outbox.c.type, outbox.c.envelope)
        .where(outbox.c.position > position)
        .order_by(outbox.c.position)
    )
    return [(row.type, row.envelope["data"]) for row in rows]


async def dialogue_outbox_position(session: AsyncSession) -> int:
    """The position of the dialogue's last outbox event (0 when empty)."""
    return int(await session.scalar(select(func.coalesce(func.max(outbox.c.position), 0))) or 0)
