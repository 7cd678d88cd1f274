"""People of the dialogue: mayors, focal points, experts, staff, with their consent.

A person who did not consent to be listed exists only for admins and the editors of their
city (``access``): everyone else gets 404 for them and never finds them in a list, so the
visibility rule is part of every query here, never a filter applied after a page is read.
Other domains name people through ``visible_person_summaries`` for the same reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import manages_city, sees_contact
from services.dialogue_api.cities.service import ensure_known_cities
from services.dialogue_api.people.models import Person
from services.dialogue_api.people.repository import PersonFilters, PersonRepository
from services.dialogue_api.people.schemas import (
    PersonCreate,
    PersonRole,
    PersonSummary,
    PersonUpdate,
)
from shared.auth import Principal
from shared.columns import apply_changes, column_values
from shared.concurrency import check_if_match
from shared.errors import Conflict, Forbidden, NotFound, field_error
from shared.pagination import PageParams

#: The unique index on ``lower(email)`` (see ``people.models``).
EMAIL_INDEX = "uq_person_email"
#: API field → column, where they differ.
_RENAMED = {"city": "city_code"}


def shows_email(principal: Principal | None, person: Person) -> bool:
    """Whether the caller may see the person's e-mail address."""
    return sees_contact(
        principal,
        city_code=person.city_code,
        listed=person.consent_listed,
        contactable=person.consent_contact,
    )


def ensure_person_editor(principal: Principal, city_code: str | None) -> None:
    """403 unless the caller may change people of ``city_code`` (people of no city: admins)."""
    if not manages_city(principal, city_code):
        raise Forbidden(
            "Only administrators and editors of the person's city may change people"
            + (f" of {city_code}." if city_code else " of no city."),
            city=city_code,
        )


def _email_conflict() -> Conflict:
    return Conflict(
        "Someone else already has this e-mail address (whatever its case).",
        errors=[field_error("email", "already the address of another person")],
    )


def _violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a database error names, whichever layer wrapped it."""
    for candidate in (error.orig, getattr(error.orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


@asynccontextmanager
async def _unique_email(session: AsyncSession) -> AsyncIterator[None]:
    """Write in a savepoint, making the changes inside it: two concurrent writers of one
    address both pass the look-up, and the unique index refuses the second, which gets the
    same 409 naming ``email``."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as error:
        if _violated_constraint(error) == EMAIL_INDEX:
            raise _email_conflict() from error
        raise


async def list_people(
    session: AsyncSession,
    principal: Principal | None,
    page: PageParams,
    *,
    city: str | None = None,
    role: PersonRole | None = None,
    language: str | None = None,
    name: str | None = None,
    organisation: str | None = None,
) -> Sequence[Person]:
    """A page of the people the caller may see, by id, optionally filtered."""
    filters = PersonFilters(
        city=city,
        role=role.value if role is not None else None,
        language=language,
        name=name,
        organisation=organisation,
    )
    return await PersonRepository.from_session(session).search(principal, filters, page)


async def get_person(session: AsyncSession, person_id: int) -> Person:
    """The person ``person_id`` whoever may see them (for writes of other domains, which
    apply the visibility rule themselves); 404 if there is none."""
    person = await PersonRepository.from_session(session).get(person_id)
    if person is None:
        raise NotFound(f"There is no person {person_id}.", id=person_id)
    return person


async def get_visible_person(
    session: AsyncSession, principal: Principal | None, person_id: int
) -> Person:
    """The person if the caller may see them; 404 otherwise, as if there were none."""
    person = await PersonRepository.from_session(session).visible(principal, person_id)
    if person is None:
        raise NotFound(f"There is no person {person_id}.", id=person_id)
    return person


async def visible_person_summaries(
    session: AsyncSession, principal: Principal | None, person_ids: Sequence[int]
) -> dict[int, PersonSummary]:
    """The people among ``person_ids`` the caller may see, in brief, by id (one query);
    the others are left out."""
    if not person_ids:
        return {}
    people = await PersonRepository.from_session(session).visible_among(
        principal, sorted(set(person_ids))
    )
    return {
        person.id: PersonSummary.of(person, shows_email=shows_email(principal, person))
        for person in people
    }


async def create_person(
    session: AsyncSession, principal: Principal, payload: PersonCreate
) -> Person:
    """Record a person of a city the caller edits (people of no city: admins)."""
    ensure_person_editor(principal, payload.city)
    await ensure_known_cities(session, {"city": payload.city})
    repository = PersonRepository.from_session(session)
    if await repository.email_taken(payload.email):
        raise _email_conflict()
    person = Person(**column_values(payload.model_dump(), renamed=_RENAMED))
    async with _unique_email(session):
        await repository.add(person)
    await session.refresh(person)
    return person


async def update_person(
    session: AsyncSession,
    principal: Principal,
    person_id: int,
    payload: PersonUpdate,
    *,
    if_match: str | None,
) -> Person:
    """Change a person of a city the caller edits; a new city must be one of theirs too."""
    person = await get_visible_person(session, principal, person_id)
    ensure_person_editor(principal, person.city_code)
    check_if_match(if_match, person.version, resource="person")
    changes = payload.changes()
    if "city" in changes:
        ensure_person_editor(principal, changes["city"])
        await ensure_known_cities(session, {"city": changes["city"]})
    repository = PersonRepository.from_session(session)
    email = changes.get("email")
    if email is not None and await repository.email_taken(email, other_than=person.id):
        raise _email_conflict()
    # Changed inside the savepoint: opening it flushes pending changes, which would write
    # them before ``save_changes`` could raise the version.
    async with _unique_email(session):
        apply_changes(person, changes, renamed=_RENAMED)
        await repository.save_changes(person, resource="person")
    return person


async def delete_person(
    session: AsyncSession, principal: Principal, person_id: int, *, if_match: str | None
) -> None:
    """Remove a person nothing refers to any more (registrations, speakers, owners,
    contacts)."""
    person = await get_visible_person(session, principal, person_id)
    ensure_person_editor(principal, person.city_code)
    check_if_match(if_match, person.version, resource="person", required=False)
    repository = PersonRepository.from_session(session)
    if dependent := await repository.dependent_kinds(person_id):
        named = " and ".join(kind.replace("_", " ") for kind in dependent)
        raise Conflict(
            f"Person {person_id} is still named by {named}; remove those first.",
            dependent=dependent,
        )
    await repository.delete(person)
