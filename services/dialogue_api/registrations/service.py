"""Registrations: who is invited to, holds a place at, waits for, or attended an event.

``registered`` and ``attended`` hold a place. Every change of places runs with the event's row
locked (``events.service.lock_event``), so however many callers register at once the places
taken never pass the capacity: the others wait in ``waitlisted_at`` order, and are promoted in
that order as places free (``events/places.py``, which the events domain owns: raising a
capacity promotes too). Each change of status is announced in the outbox
(``registration.changed``) for the worker's notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import manages_city, sees_person
from services.dialogue_api.events import service as event_service
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.places import (
    OPEN_EVENT,
    announce_registration,
    has_free_place,
    promote_waitlist,
)
from services.dialogue_api.events.repository import PLACE_HOLDING
from services.dialogue_api.events.schemas import EventStatus, registration_open
from services.dialogue_api.people.models import Person
from services.dialogue_api.people.schemas import PersonSummary
from services.dialogue_api.people.service import get_person, visible_person_summaries
from services.dialogue_api.registrations.models import Registration
from services.dialogue_api.registrations.repository import (
    RegistrationRepository,
    RegistrationRow,
)
from services.dialogue_api.registrations.schemas import (
    TRANSITIONS,
    RegistrationCreate,
    RegistrationStatus,
    RegistrationUpdate,
)
from shared.auth import Principal
from shared.concurrency import check_if_match
from shared.errors import Conflict, Forbidden, NotFound, field_error, invalid
from shared.pagination import PageParams


@dataclass(frozen=True)
class SeenRegistration:
    """A registration as one caller may see it."""

    registration: Registration
    person: PersonSummary
    waitlist_position: int | None
    sees_note: bool


def _now() -> datetime:
    return datetime.now(UTC)


async def _seen(
    session: AsyncSession,
    principal: Principal | None,
    event: Event,
    rows: Sequence[RegistrationRow],
) -> list[SeenRegistration]:
    """The rows with their people as the caller may see them (rows are already limited to
    people the caller sees, by the same rule)."""
    people = await visible_person_summaries(
        session, principal, [row.registration.person_id for row in rows]
    )
    return [
        SeenRegistration(
            registration=row.registration,
            person=people[row.registration.person_id],
            waitlist_position=row.waitlist_position,
            sees_note=manages_city(principal, row.person_city)
            or manages_city(principal, event.host_city_code),
        )
        for row in rows
    ]


async def _seen_one(
    session: AsyncSession, principal: Principal | None, event: Event, registration_id: int
) -> SeenRegistration:
    """404 for a registration of another event or of a person the caller may not see."""
    row = await RegistrationRepository.from_session(session).seen_in_event(
        event.id, registration_id, principal
    )
    if row is None:
        raise NotFound(
            f"Event {event.id} has no registration {registration_id}.", id=registration_id
        )
    return (await _seen(session, principal, event, [row]))[0]


async def list_registrations(
    session: AsyncSession,
    principal: Principal | None,
    event_id: int,
    page: PageParams,
    *,
    statuses: Sequence[str] = (),
) -> list[SeenRegistration]:
    """A page of the event's registrations whose people the caller may see, by id."""
    event = await event_service.get_event(session, principal, event_id)
    rows = await RegistrationRepository.from_session(session).for_event(
        event.id, principal, page, statuses=statuses
    )
    return await _seen(session, principal, event, rows)


async def get_registration(
    session: AsyncSession, principal: Principal | None, event_id: int, registration_id: int
) -> SeenRegistration:
    """A registration of the event, if the caller may see its person."""
    event = await event_service.get_event(session, principal, event_id)
    return await _seen_one(session, principal, event, registration_id)


async def _person_for(session: AsyncSession, principal: Principal, person_id: int) -> Person:
    """The person to register; 422 naming ``person`` when there is none the caller may see
    (not 404: the URL is the event's, and an unlisted person must not be told apart from a
    missing one)."""
    try:
        person = await get_person(session, person_id)
    except NotFound:
        person = None
    if person is None or not sees_person(
        principal, city_code=person.city_code, listed=person.consent_listed
    ):
        raise invalid("person", f"there is no person {person_id}", value=person_id)
    return person


def _ensure_may_create(
    principal: Principal, person: Person, event: Event, status: RegistrationStatus
) -> None:
    """Registering is for the person's city; inviting also for the host city."""
    if manages_city(principal, person.city_code):
        return
    if status is RegistrationStatus.invited and manages_city(principal, event.host_city_code):
        return
    who = (
        "editors of the person's city"
        if status is RegistrationStatus.registered
        else "editors of the person's city or of the host city"
    )
    raise Forbidden(
        f"Only administrators and {who} may make this {status} registration.",
        city=person.city_code,
    )


def _ensure_may_change(
    principal: Principal, person_city: str | None, host_city: str | None, changes: dict[str, Any]
) -> None:
    """Attendance is recorded by the host; everything else is the person's city's."""
    person_side = manages_city(principal, person_city)
    host_side = manages_city(principal, host_city)
    status = changes.get("status")
    if status is RegistrationStatus.attended and not host_side:
        raise Forbidden(
            "Only administrators and editors of the host city record attendance.", city=host_city
        )
    others = (changes.keys() - {"status"}) or (
        status is not None and status is not RegistrationStatus.attended
    )
    if others and not person_side:
        raise Forbidden(
            "Only administrators and editors of the person's city may change this registration.",
            city=person_city,
        )
    if not changes and not (person_side or host_side):
        raise Forbidden("You may not change this registration.", city=person_city)


def _check_interpretation(event: Event, language: str | None) -> None:
    """422 naming ``interpretation_language`` when the event offers others only."""
    if language is not None and event.interpretation and language not in event.interpretation:
        raise invalid(
            "interpretation_language",
            f"the event offers interpretation into {', '.join(event.interpretation)} only",
            value=language,
        )


def _ensure_registration_open(event: Event, now: datetime) -> None:
    """409 naming ``status`` with the reason registering is not possible now."""
    if registration_open(event, now):
        return
    if event.status not in OPEN_EVENT:
        reason = f"the event is {event.status}"
    elif event.registration_opens_at is not None and now < event.registration_opens_at:
        reason = f"registration opens at {event.registration_opens_at.isoformat()}"
    elif event.registration_closes_at is not None and now >= event.registration_closes_at:
        reason = f"registration closed at {event.registration_closes_at.isoformat()}"
    else:
        reason = "the event is over"
    raise Conflict(
        f"Registration for event {event.id} is not open: {reason}.",
        errors=[field_error("status", f"cannot register: {reason}")],
    )


def _ensure_invitations_open(event: Event) -> None:
    if event.status not in OPEN_EVENT:
        raise Conflict(
            f"Event {event.id} is {event.status}; nobody can be invited to it.",
            errors=[field_error("status", f"cannot invite to a {event.status} event")],
        )


def _ensure_attendance_possible(event: Event, now: datetime) -> None:
    if event.status == EventStatus.cancelled:
        reason = "the event was cancelled"
    elif now < event.starts_at:
        reason = f"the event starts at {event.starts_at.isoformat()}"
    else:
        return
    raise Conflict(
        f"Attendance cannot be recorded yet: {reason}.",
        errors=[field_error("status", f"cannot be attended: {reason}")],
    )


def _check_transition(previous: RegistrationStatus, status: RegistrationStatus) -> None:
    if status in TRANSITIONS[previous]:
        return
    if previous is RegistrationStatus.waitlisted and status is RegistrationStatus.registered:
        detail = "a waitlisted registration gets a place only when one frees"
    else:
        detail = f"cannot go from {previous} to {status}"
    raise Conflict(
        f"A registration that is {previous} cannot become {status}.",
        errors=[field_error("status", detail)],
    )


async def _place_or_waitlist(
    session: AsyncSession, event: Event, *, actor: str
) -> RegistrationStatus:
    """``registered`` if a place is free, else ``waitlisted`` (behind those already waiting).

    Call it before changing the registration itself: promoting flushes the session.
    """
    # Anyone already waiting goes first, should places have freed without a promotion.
    await promote_waitlist(session, event, actor=actor)
    if await has_free_place(session, event):
        return RegistrationStatus.registered
    return RegistrationStatus.waitlisted


async def create_registration(
    session: AsyncSession, principal: Principal, event_id: int, payload: RegistrationCreate
) -> SeenRegistration:
    """Invite a person, or register them (on the waitlist when the event is full)."""
    if not principal.can_edit_any_city():
        raise Forbidden("Only administrators and editors may register people.")
    event = await event_service.lock_event(session, principal, event_id)
    person = await _person_for(session, principal, payload.person)
    status = RegistrationStatus(payload.status)
    _ensure_may_create(principal, person, event, status)
    _check_interpretation(event, payload.interpretation_language)
    if status is RegistrationStatus.registered:
        _ensure_registration_open(event, _now())
    else:
        _ensure_invitations_open(event)
    repository = RegistrationRepository.from_session(session)
    if (existing := await repository.for_pair(event.id, person.id)) is not None:
        raise Conflict(
            f"Person {person.id} already has registration {existing.id} for event {event.id}.",
            errors=[field_error("person", "already registered for this event", value=person.id)],
            registration_id=existing.id,
            registration=f"/v1/events/{event.id}/registrations/{existing.id}",
        )
    registration = Registration(
        event_id=event.id,
        person_id=person.id,
        needs_visa_letter=payload.needs_visa_letter,
        interpretation_language=payload.interpretation_language,
        note=payload.note,
    )
    if status is RegistrationStatus.registered:
        status = await _place_or_waitlist(session, event, actor=principal.subject)
    registration.move_to(status, _now())
    await repository.add(registration)
    await session.refresh(registration)
    await announce_registration(session, registration, previous=None, actor=principal.subject)
    return await _seen_one(session, principal, event, registration.id)


async def update_registration(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    registration_id: int,
    payload: RegistrationUpdate,
    *,
    if_match: str | None,
) -> SeenRegistration:
    """Change a registration's status or needs; a place it gives up goes to the waitlist."""
    event = await event_service.lock_event(session, principal, event_id)
    repository = RegistrationRepository.from_session(session)
    row = await repository.seen_in_event(event.id, registration_id, principal)
    if row is None:
        raise NotFound(
            f"Event {event.id} has no registration {registration_id}.", id=registration_id
        )
    registration = row.registration
    changes = payload.changes()
    _ensure_may_change(principal, row.person_city, event.host_city_code, changes)
    check_if_match(if_match, registration.version, resource="registration")
    if "interpretation_language" in changes:
        _check_interpretation(event, changes["interpretation_language"])
    previous = RegistrationStatus(registration.status)
    status: RegistrationStatus | None = changes.pop("status", None)
    if status is not None and status is not previous:
        _check_transition(previous, status)
        if status is RegistrationStatus.attended:
            _ensure_attendance_possible(event, _now())
        if status is RegistrationStatus.registered:
            _ensure_registration_open(event, _now())
            status = await _place_or_waitlist(session, event, actor=principal.subject)
        registration.move_to(status, _now())
    # Only now: the promotions above flush, and a flushed change would not raise the version.
    for field, value in changes.items():
        setattr(registration, field, value)
    if not await repository.save_changes(registration, resource="registration"):
        return await _seen_one(session, principal, event, registration.id)
    if registration.status != previous:
        await announce_registration(
            session, registration, previous=previous.value, actor=principal.subject
        )
        if previous in PLACE_HOLDING and registration.status not in PLACE_HOLDING:
            await promote_waitlist(session, event, actor=principal.subject)
    return await _seen_one(session, principal, event, registration.id)
