"""Valid dialogue requests in one line, and ways to create what a test needs through the API."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.db import outbox
from services.dialogue_api.people.models import Person
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


_people = itertools.count(1)


async def add_person(
    session: AsyncSession,
    city: str | None = "PTLIS",
    *,
    listed: bool = True,
    contactable: bool = False,
    name: str | None = None,
) -> Person:
    """A person stored directly (in the test's transaction), listed unless told otherwise."""
    number = next(_people)
    person = Person(
        name=name or f"Participant {number}",
        email=f"participant.{number}.{uuid.uuid4().hex[:8]}@example.org",
        role="technical_focal_point",
        city_code=city,
        consent_listed=listed,
        consent_contact=contactable,
    )
    session.add(person)
    await session.flush()
    return person


async def register(
    dialogue: Api,
    event_id: int,
    person_id: int,
    *,
    status: str = "registered",
    **fields: Any,
) -> dict[str, Any]:
    """A registration (or invitation) made by an administrator; its representation."""
    response = await dialogue.post(
        f"/v1/events/{event_id}/registrations",
        role=Api.ADMIN,
        json={"person": person_id, "status": status, **fields},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_recommendation(event_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid recommendation of ``event_id``: a local housing recommendation to Tunis and
    Amman, motivated by Tunis's foreign nationals."""
    body: dict[str, Any] = {
        "event": event_id,
        "theme": "housing",
        "text": {
            "en": "Open a one-stop reception desk for newcomers looking for housing.",
            "fr": "Ouvrir un guichet unique d'accueil pour les nouveaux arrivants cherchant un "
            "logement.",
        },
        "target_cities": ["TNTUN", "JOAMM"],
        "governance_level": "local",
        "evidence": [{"city": "TNTUN", "indicator": "foreign_nationals", "role": "motivates"}],
    }
    body.update(overrides)
    return body


async def create_recommendation(dialogue: Api, event_id: int, **overrides: Any) -> dict[str, Any]:
    """A recommendation of ``event_id`` recorded by an administrator; its representation."""
    response = await dialogue.post(
        "/v1/recommendations", role=Api.ADMIN, json=new_recommendation(event_id, **overrides)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_action(**overrides: Any) -> dict[str, Any]:
    """A valid action: Tunis opens its reception desk by the end of June 2027."""
    body: dict[str, Any] = {
        "city": "TNTUN",
        "title": {
            "en": "Open the newcomers' reception desk",
            "fr": "Ouvrir le guichet d'accueil des nouveaux arrivants",
        },
        "due_on": "2027-06-30",
    }
    body.update(overrides)
    return body


async def create_action(dialogue: Api, recommendation_id: int, **overrides: Any) -> dict[str, Any]:
    """An action on ``recommendation_id`` recorded by an administrator; its representation."""
    response = await dialogue.post(
        f"/v1/recommendations/{recommendation_id}/actions",
        role=Api.ADMIN,
        json=new_action(**overrides),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_person(**overrides: Any) -> dict[str, Any]:
    """A valid person: a listed, contactable technical focal point of Lisbon, with an e-mail
    address no other test uses."""
    body: dict[str, Any] = {
        "name": "Ana Ferreira",
        "email": f"ana.ferreira.{uuid.uuid4().hex[:8]}@example.org",
        "organisation": "Câmara Municipal de Lisboa",
        "role": "technical_focal_point",
        "city": "PTLIS",
        "languages": ["pt", "en"],
        "consent_listed": True,
        "consent_contact": True,
    }
    body.update(overrides)
    return body


async def create_person(dialogue: Api, **overrides: Any) -> dict[str, Any]:
    """A person recorded by an administrator through the API; their representation."""
    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=new_person(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
