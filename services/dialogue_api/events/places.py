"""An event's places: whether one is free, and the promotion of its waitlist into those that
free, each announced as ``registration.changed``.

Every change of places runs with the event's row locked (``service.lock_event``). Both a
change of capacity (``service.update_event``) and a registration giving up its place
(``registrations/service.py``) promote the waitlist, so the promotion belongs to the events
domain: the registrations domain builds on events, and events reads and writes
registrations through its repository only (``WaitlistRepository``), never through the
registrations' service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.db import events as outbox
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.repository import (
    WAITLISTED,
    EventRepository,
    WaitlistRepository,
)
from services.dialogue_api.events.schemas import EventStatus
from shared.contracts.events import RegistrationChanged

if TYPE_CHECKING:
    from services.dialogue_api.registrations.models import Registration

#: Event statuses in which people may still be invited, registered or promoted.
OPEN_EVENT = (EventStatus.planned, EventStatus.confirmed)


async def has_free_place(session: AsyncSession, event: Event) -> bool:
    """Whether the event has a place nobody holds (always, without a capacity)."""
    if event.capacity is None:
        return True
    counts = await EventRepository.from_session(session).place_counts([event.id])
    taken, _ = counts.get(event.id, (0, 0))
    return taken < event.capacity


async def announce_registration(
    session: AsyncSession,
    registration: Registration,
    *,
    previous: str | None,
    actor: str | None,
    promoted: bool = False,
) -> None:
    """Write ``registration.changed`` for the registration's new status."""
    await outbox.add(
        session,
        RegistrationChanged(
            registration_id=registration.id,
            event_id=registration.event_id,
            person_id=registration.person_id,
            status=registration.status,
            previous_status=previous,
            promoted_from_waitlist=promoted,
        ),
        actor=actor,
    )


async def promote_waitlist(
    session: AsyncSession, event: Event, *, actor: str | None
) -> list[Registration]:
    """Give the event's free places to its waitlist, first come first; the caller holds the
    event's lock (``service.lock_event``). Nothing moves once the event is over or
    cancelled."""
    now = datetime.now(UTC)
    if event.status not in OPEN_EVENT or now >= event.ends_at:
        return []
    counts = await EventRepository.from_session(session).place_counts([event.id])
    taken, waiting = counts.get(event.id, (0, 0))
    free = None if event.capacity is None else event.capacity - taken
    if waiting == 0 or (free is not None and free <= 0):
        return []
    repository = WaitlistRepository.from_session(session)
    promoted = list(await repository.waitlist(event.id, limit=free))
    now = datetime.now(UTC)
    for registration in promoted:
        registration.promote(now)
        await repository.save_changes(registration, resource="registration")
        await announce_registration(
            session, registration, previous=WAITLISTED, actor=actor, promoted=True
        )
    return promoted
