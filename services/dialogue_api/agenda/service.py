"""The programme of an event: timed items, room by room, with their speakers.

Two items of one event may not overlap in the same room. No exclusion constraint says so
(see ``AgendaItem``): every write takes the event's row lock first and checks while holding
it, so two writers of one programme cannot both slip an item into the same free slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.agenda.models import AgendaItem
from services.dialogue_api.agenda.repository import AgendaRepository
from services.dialogue_api.agenda.schemas import (
    AgendaItemCreate,
    AgendaItemUpdate,
)
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.service import ensure_event_editor, get_event, lock_event
from services.dialogue_api.people.schemas import PersonSummary
from services.dialogue_api.people.service import visible_person_summaries
from shared.auth import Principal
from shared.columns import column_values
from shared.concurrency import check_if_match
from shared.errors import Conflict, NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


@dataclass(frozen=True)
class AgendaEntry:
    """An item as a caller sees it: its event's timezone and the speakers they may see."""

    item: AgendaItem
    timezone: str
    speakers: Sequence[PersonSummary]


async def _entries(
    session: AsyncSession,
    principal: Principal | None,
    event: Event,
    items: Sequence[AgendaItem],
) -> list[AgendaEntry]:
    """The items with their visible speakers, in two queries whatever the number of items."""
    speakers = await AgendaRepository.from_session(session).speakers_of([i.id for i in items])
    everyone = sorted({person for people in speakers.values() for person in people})
    visible = await visible_person_summaries(session, principal, everyone)
    return [
        AgendaEntry(
            item,
            event.timezone,
            [visible[p] for p in speakers.get(item.id, ()) if p in visible],
        )
        for item in items
    ]


async def list_items(
    session: AsyncSession,
    principal: Principal | None,
    event_id: int,
    page: PageParams,
    *,
    room: str | None = None,
    theme: str | None = None,
) -> list[AgendaEntry]:
    """A page of the programme of an event the caller may see, by start time."""
    event = await get_event(session, principal, event_id)
    items = await AgendaRepository.from_session(session).for_event(
        event_id, page, room=room, theme=theme
    )
    return await _entries(session, principal, event, items)


async def _item(session: AsyncSession, event_id: int, item_id: int) -> AgendaItem:
    item = await AgendaRepository.from_session(session).in_event(event_id, item_id)
    if item is None:
        raise NotFound(f"Event {event_id} has no agenda item {item_id}.", id=item_id)
    return item


async def get_item(
    session: AsyncSession, principal: Principal | None, event_id: int, item_id: int
) -> AgendaEntry:
    """An item of the programme of an event the caller may see."""
    event = await get_event(session, principal, event_id)
    item = await _item(session, event_id, item_id)
    return (await _entries(session, principal, event, [item]))[0]


def _check_times(event: Event, starts_at: datetime, ends_at: datetime) -> None:
    """422 naming the field when the item does not lie inside the event, in order."""
    errors = []
    if starts_at < event.starts_at:
        errors.append(field_error("starts_at", "must not be before the event starts"))
    if ends_at > event.ends_at:
        errors.append(field_error("ends_at", "must not be after the event ends"))
    if ends_at <= starts_at:
        errors.append(field_error("ends_at", "must be after starts_at"))
    if errors:
        raise ValidationFailed(
            f"An agenda item must lie inside its event ({event.starts_at.isoformat()} to "
            f"{event.ends_at.isoformat()}).",
            errors=errors,
        )


async def _check_room_free(
    session: AsyncSession,
    event_id: int,
    room: str | None,
    starts_at: datetime,
    ends_at: datetime,
    *,
    item_id: int | None = None,
) -> None:
    """409 naming the item already in the room at that time (call with the event locked)."""
    if room is None:
        return
    taken = await AgendaRepository.from_session(session).overlapping(
        event_id, room, starts_at, ends_at, other_than=item_id
    )
    if taken is None:
        return
    detail = f"room {taken.room!r} is taken by agenda item {taken.id} at that time"
    raise Conflict(
        f"Agenda item {taken.id} is in {taken.room!r} from {taken.starts_at.isoformat()} to "
        f"{taken.ends_at.isoformat()}; choose another time or room.",
        errors=[field_error("starts_at", detail), field_error("room", detail)],
        conflicting_item={
            "id": taken.id,
            "room": taken.room,
            "starts_at": taken.starts_at.isoformat(),
            "ends_at": taken.ends_at.isoformat(),
        },
    )


async def _check_speakers(
    session: AsyncSession, principal: Principal, speakers: Sequence[int]
) -> None:
    """422 naming each speaker who does not exist or whom the caller may not see (the same
    answer for both, so that it tells nothing of people hidden from the caller)."""
    visible = await visible_person_summaries(session, principal, speakers)
    errors = [
        field_error(f"speakers.{position}", f"there is no person {person_id}")
        for position, person_id in enumerate(speakers)
        if person_id not in visible
    ]
    if errors:
        raise ValidationFailed("Some speakers are not known.", errors=errors)


async def create_item(
    session: AsyncSession, principal: Principal, event_id: int, payload: AgendaItemCreate
) -> AgendaEntry:
    """Add an item to the programme of an event the caller may change."""
    event = await lock_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    values = column_values(payload.model_dump(exclude={"speakers"}))
    item = AgendaItem(event_id=event_id, **values)
    _check_times(event, item.starts_at, item.ends_at)
    await _check_speakers(session, principal, payload.speakers)
    await _check_room_free(session, event_id, item.room, item.starts_at, item.ends_at)
    repository = AgendaRepository.from_session(session)
    await repository.add(item)
    await repository.replace_speakers(item.id, payload.speakers)
    await session.refresh(item)
    return (await _entries(session, principal, event, [item]))[0]


async def update_item(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    item_id: int,
    payload: AgendaItemUpdate,
    *,
    if_match: str | None,
) -> AgendaEntry:
    """Change an item of the programme; new speakers replace the old ones."""
    event = await lock_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    item = await _item(session, event_id, item_id)
    check_if_match(if_match, item.version, resource="agenda item")
    changes = payload.changes()
    speakers = changes.pop("speakers", None)
    values = column_values(changes)
    # Every check queries before anything is set on the item, so no autoflush writes it
    # ahead of `save_changes` (which would then see nothing to save and keep the version).
    starts_at = values.get("starts_at", item.starts_at)
    ends_at = values.get("ends_at", item.ends_at)
    _check_times(event, starts_at, ends_at)
    if speakers is not None:
        await _check_speakers(session, principal, speakers)
    if values.keys() & {"starts_at", "ends_at", "room"}:
        await _check_room_free(
            session, event_id, values.get("room", item.room), starts_at, ends_at, item_id=item.id
        )
    repository = AgendaRepository.from_session(session)
    if speakers is not None and await repository.replace_speakers(item.id, speakers):
        # The speakers are part of the item: its version (and ETag) moves with them.
        values["updated_at"] = datetime.now(UTC)
    for field, value in values.items():
        setattr(item, field, value)
    await repository.save_changes(item, resource="agenda item")
    return (await _entries(session, principal, event, [item]))[0]


async def delete_item(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    item_id: int,
    *,
    if_match: str | None,
) -> None:
    """Remove an item from the programme (its speakers with it)."""
    event = await lock_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    item = await _item(session, event_id, item_id)
    check_if_match(if_match, item.version, resource="agenda item", required=False)
    await AgendaRepository.from_session(session).delete(item)
