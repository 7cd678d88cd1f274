from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from services.dialogue_api.agenda.models import AgendaItem
from services.dialogue_api.events.models import Event
from services.dialogue_api.recommendations.models import Recommendation
from services.dialogue_api.registrations.models import Registration
from shared.pagination import PageParams, keyset
from shared.repository import Repository

#: Registration statuses that hold a place at the event.
PLACE_HOLDING = ("registered", "attended")
#: The registration status of those waiting for a place.
WAITLISTED = "waitlisted"


@dataclass(frozen=True)
class EventFilters:
    types: Sequence[str] = ()
    city: str | None = None
    theme: str | None = None
    statuses: Sequence[str] = ()
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    public_only: bool = True


class EventRepository(Repository[Event]):
    model = Event

    async def search(self, filters: EventFilters, page: PageParams) -> Sequence[Event]:
        """A page of events in order of start, then id."""
        statement = select(Event)
        if filters.public_only:
            statement = statement.where(Event.public.is_(True))
        if filters.types:
            statement = statement.where(Event.type.in_(filters.types))
        if filters.statuses:
            statement = statement.where(Event.status.in_(filters.statuses))
        if filters.city is not None:
            statement = statement.where(
                or_(
                    Event.host_city_code == filters.city,
                    Event.participating_cities.contains([filters.city]),
                )
            )
        if filters.theme is not None:
            statement = statement.where(Event.themes.contains([filters.theme]))
        # An event is in the range when it overlaps it: it ends after the start of the range
        # and starts before its end.
        if filters.starts_from is not None:
            statement = statement.where(Event.ends_at > filters.starts_from)
        if filters.starts_before is not None:
            statement = statement.where(Event.starts_at < filters.starts_before)
        return (
            await self.session.scalars(keyset(statement, page, Event.starts_at, Event.id))
        ).all()

    async def for_update(self, event_id: int) -> Event | None:
        """The event with its row locked until the transaction ends: every change of its
        places or programme takes this lock first, so such changes run one at a time."""
        return await self.session.scalar(
            select(Event).where(Event.id == event_id).with_for_update()
        )

    async def place_counts(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """``(taken, waitlisted)`` for each of the events, in one query."""
        if not event_ids:
            return {}
        taken = func.count().filter(Registration.status.in_(PLACE_HOLDING))
        waitlisted = func.count().filter(Registration.status == "waitlisted")
        rows = await self.session.execute(
            select(Registration.event_id, taken, waitlisted)
            .where(Registration.event_id.in_(event_ids))
            .group_by(Registration.event_id)
        )
        return {event_id: (t, w) for event_id, t, w in rows}

    async def dependent_kinds(self, event_id: int) -> list[str]:
        """What still refers to the event and would be lost with it."""
        kinds = []
        for kind, model in (("registrations", Registration), ("recommendations", Recommendation)):
            if await self.session.scalar(
                select(select(model.id).where(model.event_id == event_id).exists())
            ):
                kinds.append(kind)
        return kinds

    async def agenda_outside(
        self, event_id: int, starts_at: datetime, ends_at: datetime
    ) -> list[int]:
        """Ids of the event's agenda items that do not lie within ``starts_at`` to ``ends_at``."""
        found = await self.session.scalars(
            select(AgendaItem.id)
            .where(
                AgendaItem.event_id == event_id,
                or_(AgendaItem.starts_at < starts_at, AgendaItem.ends_at > ends_at),
            )
            .order_by(AgendaItem.id)
        )
        return list(found)


class WaitlistRepository(Repository[Registration]):
    """The registrations waiting for a place at an event, as its places see them
    (``places.py``): the events domain reads them, the registrations domain owns them."""

    model = Registration

    async def waitlist(self, event_id: int, *, limit: int | None) -> Sequence[Registration]:
        """The first ``limit`` waiting for a place (all when ``None``), first come first."""
        statement = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status == WAITLISTED)
            .order_by(Registration.waitlisted_at, Registration.id)
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()
