"""Who is told of what: the people each kind of change concerns, read in one query each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.people.models import Person
from services.dialogue_api.people.schemas import PersonRole
from services.dialogue_api.registrations.models import Registration
from services.dialogue_api.registrations.schemas import RegistrationStatus

#: Whom an event's changes concern: everyone with a place, waiting for one, or invited.
CONCERNED = (
    RegistrationStatus.registered.value,
    RegistrationStatus.waitlisted.value,
    RegistrationStatus.invited.value,
)
#: The people a recommendation to a city is addressed to.
FOCAL_POINTS = (
    PersonRole.technical_focal_point.value,
    PersonRole.political_official.value,
    PersonRole.mayor.value,
)


async def registrants(
    session: AsyncSession,
    event_id: int,
    statuses: Collection[str] = CONCERNED,
    *,
    registered_by: datetime | None = None,
) -> Sequence[tuple[Person, str]]:
    """The people registered for the event in one of ``statuses``, with their status; only
    those whose registration was made at or before ``registered_by`` when it is given."""
    statement = (
        select(Person, Registration.status)
        .join(Registration, Registration.person_id == Person.id)
        .where(Registration.event_id == event_id, Registration.status.in_(list(statuses)))
        .order_by(Person.id)
    )
    if registered_by is not None:
        statement = statement.where(Registration.created_at <= registered_by)
    return [(person, status) for person, status in await session.execute(statement)]


async def focal_points(session: AsyncSession, cities: Collection[str]) -> Sequence[Person]:
    """The focal points, officials and mayors of ``cities`` who consented to be contacted."""
    if not cities:
        return []
    return (
        await session.scalars(
            select(Person)
            .where(
                Person.city_code.in_(list(cities)),
                Person.role.in_(FOCAL_POINTS),
                Person.consent_contact.is_(True),
            )
            .order_by(Person.id)
        )
    ).all()


async def people(session: AsyncSession, ids: Collection[int | None]) -> dict[int, Person]:
    """The people of ``ids`` that exist, by id (``None`` ids are skipped)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    found = await session.scalars(select(Person).where(Person.id.in_(wanted)))
    return {person.id: person for person in found}
