"""The dialogue's demo story for ``make dev`` and the tests (``story.json``).

The story is history: its events were held months ago, people attended, recommendations were
adopted. It is written as it stands, row by row, not replayed through the request workflow
(which would refuse to register anyone for an event that has ended), and it announces nothing
in the outbox. Seeding is idempotent: each row is found by its natural key first (a person by
e-mail, an event by type, host and start, a registration by event and person…).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.actions.models import Action, ProgressUpdate
from services.dialogue_api.events.models import Event
from services.dialogue_api.exchanges.models import Exchange
from services.dialogue_api.outcomes.models import Outcome
from services.dialogue_api.people.models import Person
from services.dialogue_api.recommendations.models import (
    Evidence,
    Recommendation,
    RecommendationStatusChange,
)
from services.dialogue_api.registrations.models import Registration

STORY_FILE = Path(__file__).parent / "story.json"
SEED_ACTOR = "mc2cm-seed"


@dataclass
class SeedResult:
    events_created: int = 0
    people_created: int = 0
    registrations_created: int = 0
    recommendations_created: int = 0
    actions_created: int = 0


def load_story() -> dict[str, Any]:
    story: dict[str, Any] = json.loads(STORY_FILE.read_text(encoding="utf-8"))
    return story


async def _person(session: AsyncSession, entry: dict[str, Any]) -> tuple[Person, bool]:
    found = await session.scalar(
        select(Person).where(func.lower(Person.email) == entry["email"].lower())
    )
    if found is not None:
        return found, False
    person = Person(
        name=entry["name"],
        email=entry["email"],
        organisation=entry["organisation"],
        role=entry["role"],
        city_code=entry["city"],
        languages=entry["languages"],
        consent_listed=entry["consent_listed"],
        consent_contact=entry["consent_contact"],
    )
    session.add(person)
    return person, True


async def _event(session: AsyncSession, entry: dict[str, Any]) -> tuple[Event, bool]:
    starts_at = datetime.fromisoformat(entry["starts_at"])
    found = await session.scalar(
        select(Event).where(
            Event.type == entry["type"],
            Event.host_city_code == entry["host_city"],
            Event.starts_at == starts_at,
        )
    )
    if found is not None:
        return found, False
    event = Event(
        type=entry["type"],
        title=entry["title"],
        description=entry.get("description", {}),
        themes=entry["themes"],
        host_city_code=entry["host_city"],
        participating_cities=entry.get("participating_cities", []),
        venue=entry.get("venue"),
        starts_at=starts_at,
        ends_at=datetime.fromisoformat(entry["ends_at"]),
        timezone=entry["timezone"],
        status=entry["status"],
        capacity=entry.get("capacity"),
        languages=entry.get("languages", []),
        interpretation=entry.get("interpretation", []),
    )
    session.add(event)
    return event, True


async def seed(session: AsyncSession) -> SeedResult:
    """Load the demo story; what exists already is left as it is."""
    story = load_story()
    result = SeedResult()
    people: dict[str, Person] = {}
    for entry in story["people"]:
        people[entry["key"]], created = await _person(session, entry)
        result.people_created += created
    events: dict[str, Event] = {}
    for entry in story["events"]:
        events[entry["key"]], created = await _event(session, entry)
        result.events_created += created
    await session.flush()

    for entry in story["registrations"]:
        event, person = events[entry["event"]], people[entry["person"]]
        if await session.scalar(
            select(Registration.id).where(
                Registration.event_id == event.id, Registration.person_id == person.id
            )
        ):
            continue
        registration = Registration(
            event_id=event.id,
            person_id=person.id,
            status=entry["status"],
            needs_visa_letter=entry.get("needs_visa_letter", False),
            interpretation_language=entry.get("interpretation_language"),
        )
        if entry["status"] == "attended":
            registration.status_changed_at = event.ends_at
        session.add(registration)
        result.registrations_created += 1

    recommendations: dict[str, Recommendation] = {}
    for entry in story["recommendations"]:
        event = events[entry["event"]]
        found = await session.scalar(
            select(Recommendation).where(
                Recommendation.event_id == event.id,
                Recommendation.text["en"].astext == entry["text"]["en"],
            )
        )
        if found is not None:
            recommendations[entry["key"]] = found
            continue
        recommendation = Recommendation(
            event_id=event.id,
            theme=entry["theme"],
            text=entry["text"],
            target_cities=entry["target_cities"],
            governance_level=entry["governance_level"],
            status=entry["status"],
        )
        session.add(recommendation)
        await session.flush()
        recommendations[entry["key"]] = recommendation
        result.recommendations_created += 1
        session.add(
            RecommendationStatusChange(
                recommendation_id=recommendation.id,
                old_status=None,
                status="proposed",
                changed_at=event.ends_at,
                changed_by=SEED_ACTOR,
            )
        )
        if entry["status"] != "proposed":
            session.add(
                RecommendationStatusChange(
                    recommendation_id=recommendation.id,
                    old_status="proposed",
                    status=entry["status"],
                    changed_by=SEED_ACTOR,
                )
            )
        session.add_all(
            Evidence(
                recommendation_id=recommendation.id,
                city_code=link["city"],
                # An assessment framework's indicator (a gap it answers), or the catalogue's.
                framework_code=link.get("framework", ""),
                indicator_code=link["indicator"],
                role=link["role"],
            )
            for link in entry["evidence"]
        )

    for entry in story["actions"]:
        recommendation = recommendations[entry["recommendation"]]
        if await session.scalar(
            select(Action.id).where(
                Action.recommendation_id == recommendation.id,
                Action.city_code == entry["city"],
                Action.title["en"].astext == entry["title"]["en"],
            )
        ):
            continue
        action = Action(
            recommendation_id=recommendation.id,
            city_code=entry["city"],
            owner_id=people[entry["owner"]].id,
            title=entry["title"],
            due_on=date.fromisoformat(entry["due_on"]),
            status=entry["status"],
        )
        session.add(action)
        await session.flush()
        result.actions_created += 1
        session.add_all(
            ProgressUpdate(
                action_id=action.id,
                reported_by=SEED_ACTOR,
                text=update["text"],
                progress=update.get("progress"),
            )
            for update in entry.get("updates", [])
        )

    for entry in story["exchanges"]:
        if await session.scalar(
            select(Exchange.id).where(
                Exchange.city_code == entry["city"],
                Exchange.kind == entry["kind"],
                Exchange.title["en"].astext == entry["title"]["en"],
            )
        ):
            continue
        session.add(
            Exchange(
                kind=entry["kind"],
                city_code=entry["city"],
                theme=entry["theme"],
                related_themes=entry.get("related_themes", []),
                title=entry["title"],
                languages=entry["languages"],
                contact_id=people[entry["contact"]].id,
            )
        )

    for entry in story["outcomes"]:
        event = events[entry["event"]]
        if await session.scalar(
            select(Outcome.id).where(Outcome.event_id == event.id, Outcome.url == entry["url"])
        ):
            continue
        session.add(
            Outcome(
                event_id=event.id,
                kind=entry["kind"],
                title=entry["title"],
                url=entry["url"],
                language=entry["language"],
            )
        )
    await session.flush()
    return result
