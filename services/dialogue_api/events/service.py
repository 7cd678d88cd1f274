"""Events of the dialogue: missions, meetings, conferences, with their places and status.

Changes are announced in the outbox (``event.changed``, ``event.cancelled``) so the worker can
tell participants; an editor acts for events hosted by their cities only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_unpublished
from services.dialogue_api.cities.service import ensure_known_cities
from services.dialogue_api.db import events as outbox
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.places import promote_waitlist
from services.dialogue_api.events.repository import EventFilters, EventRepository
from services.dialogue_api.events.schemas import (
    TRANSITIONS,
    EventCreate,
    EventStatus,
    EventUpdate,
)
from shared.auth import Principal
from shared.columns import apply_changes, column_values, stored
from shared.concurrency import check_if_match
from shared.contracts.events import EventCancelled, EventChanged
from shared.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


@dataclass(frozen=True)
class EventWithPlaces:
    event: Event
    taken: int
    waitlisted: int


def ensure_event_editor(principal: Principal, event_host: str | None) -> None:
    """403 unless the caller may change events hosted by ``event_host`` (network-wide events
    without a host: admins only)."""
    if principal.is_admin:
        return
    if event_host is None or not principal.can_edit_city(event_host):
        raise Forbidden(
            "Only administrators and editors of the host city may change this event.",
            city=event_host,
        )


async def get_event(session: AsyncSession, principal: Principal | None, event_id: int) -> Event:
    """The event, if the caller may see it (404 otherwise: a private event does not exist
    for anonymous callers)."""
    event = await EventRepository.from_session(session).get(event_id)
    if event is None or not (event.public or sees_unpublished(principal)):
        raise NotFound(f"There is no event {event_id}.", id=event_id)
    return event


async def lock_event(session: AsyncSession, principal: Principal | None, event_id: int) -> Event:
    """The event, locked for a change of its places or programme (see the repository)."""
    event = await EventRepository.from_session(session).for_update(event_id)
    if event is None or not (event.public or sees_unpublished(principal)):
        raise NotFound(f"There is no event {event_id}.", id=event_id)
    return event


async def with_places(session: AsyncSession, events: Sequence[Event]) -> list[EventWithPlaces]:
    """The events with their places taken and waitlist length, counted in one query."""
    counts = await EventRepository.from_session(session).place_counts([e.id for e in events])
    return [EventWithPlaces(event, *counts.get(event.id, (0, 0))) for event in events]


async def list_events(
    session: AsyncSession,
    principal: Principal | None,
    page: PageParams,
    *,
    types: Sequence[str] = (),
    city: str | None = None,
    theme: str | None = None,
    statuses: Sequence[str] = (),
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> list[EventWithPlaces]:
    """A page of the events the caller may see, by start time."""
    filters = EventFilters(
        types=types,
        city=city,
        theme=theme,
        statuses=statuses,
        starts_from=starts_from,
        starts_before=starts_before,
        public_only=not sees_unpublished(principal),
    )
    found = await EventRepository.from_session(session).search(filters, page)
    return await with_places(session, found)


def _check_times(event: Event) -> None:
    """422 naming the field when the times do not follow each other."""
    errors = []
    if event.ends_at <= event.starts_at:
        errors.append(field_error("ends_at", "must be after starts_at"))
    opens, closes = event.registration_opens_at, event.registration_closes_at
    if opens is not None and closes is not None and closes <= opens:
        errors.append(field_error("registration_closes_at", "must be after registration_opens_at"))
    if closes is not None and closes > event.ends_at:
        errors.append(field_error("registration_closes_at", "must not be after the event ends"))
    if errors:
        raise ValidationFailed("The event's times are not in order.", errors=errors)


#: API field → column, where they differ.
_RENAMED = {"host_city": "host_city_code"}


async def create_event(session: AsyncSession, principal: Principal, payload: EventCreate) -> Event:
    """Create an event hosted by a city the caller edits (network-wide: admins)."""
    ensure_event_editor(principal, payload.host_city)
    await ensure_known_cities(
        session,
        {"host_city": payload.host_city, "participating_cities": payload.participating_cities},
    )
    values = column_values(payload.model_dump(), renamed=_RENAMED)
    event = Event(**values)
    _check_times(event)
    await EventRepository.from_session(session).add(event)
    await session.refresh(event)
    await outbox.add(
        session,
        EventChanged(event_id=event.id, status=event.status, created=True),
        actor=principal.subject,
    )
    return event


async def update_event(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    payload: EventUpdate,
    *,
    if_match: str | None,
) -> Event:
    """Change an event; a new host must also be one of the caller's cities. The event is
    locked, so its programme and places cannot change underneath."""
    event = await lock_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    check_if_match(if_match, event.version, resource="event")
    changes = payload.changes()
    if "host_city" in changes:
        ensure_event_editor(principal, changes["host_city"])
    await ensure_known_cities(
        session,
        {
            "host_city": changes.get("host_city"),
            "participating_cities": changes.get("participating_cities"),
        },
    )
    previous = EventStatus(event.status)
    status = changes.get("status")
    if status is not None and status != previous and status not in TRANSITIONS[previous]:
        raise Conflict(
            f"An event that is {previous} cannot become {status}.",
            errors=[field_error("status", f"cannot go from {previous} to {status}")],
        )
    if "starts_at" in changes or "ends_at" in changes:
        await _ensure_agenda_fits(
            session,
            event.id,
            stored(changes.get("starts_at", event.starts_at)),
            stored(changes.get("ends_at", event.ends_at)),
            field="starts_at" if "starts_at" in changes else "ends_at",
        )
    # One column per field, in the fields' order.
    values = column_values(changes, renamed=_RENAMED)
    changed = sorted(
        field
        for field, (column, value) in zip(changes, values.items(), strict=True)
        if getattr(event, column) != value
    )
    apply_changes(event, changes, renamed=_RENAMED)
    _check_times(event)
    if not await EventRepository.from_session(session).save_changes(event, resource="event"):
        return event
    if event.status == EventStatus.cancelled and previous != EventStatus.cancelled:
        await outbox.add(session, EventCancelled(event_id=event.id), actor=principal.subject)
    else:
        await outbox.add(
            session,
            EventChanged(event_id=event.id, status=event.status, changed_fields=changed),
            actor=principal.subject,
        )
    if "capacity" in changed:
        # More places (or no limit any more): the waitlist gets them, first come first.
        await promote_waitlist(session, event, actor=principal.subject)
    return event


async def _ensure_agenda_fits(
    session: AsyncSession, event_id: int, starts_at: datetime, ends_at: datetime, *, field: str
) -> None:
    """409 when new times would leave agenda items outside the event."""
    outside = await EventRepository.from_session(session).agenda_outside(
        event_id, starts_at, ends_at
    )
    if outside:
        raise Conflict(
            f"{len(outside)} agenda item(s) would fall outside the event's new times; move "
            "or remove them first.",
            errors=[field_error(field, "agenda items fall outside these times")],
            agenda_items=outside,
        )


async def delete_event(
    session: AsyncSession, principal: Principal, event_id: int, *, if_match: str | None
) -> None:
    """Remove an event nobody registered for and nothing came out of (cancel it otherwise)."""
    event = await get_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    check_if_match(if_match, event.version, resource="event", required=False)
    repository = EventRepository.from_session(session)
    if dependent := await repository.dependent_kinds(event_id):
        raise Conflict(
            f"Event {event_id} has {' and '.join(dependent)}; cancel it instead of removing it.",
            dependent=dependent,
        )
    await repository.delete(event)
    await outbox.add(session, EventCancelled(event_id=event_id), actor=principal.subject)
