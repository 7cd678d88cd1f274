from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from services.dialogue_api.agenda.models import AgendaItem, AgendaSpeaker
from services.dialogue_api.db import audit_log
from shared.audit import Action
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class AgendaRepository(Repository[AgendaItem]):
    model = AgendaItem

    async def for_event(
        self,
        event_id: int,
        page: PageParams,
        *,
        room: str | None = None,
        theme: str | None = None,
    ) -> Sequence[AgendaItem]:
        """A page of the event's programme in order of start, then id."""
        statement = select(AgendaItem).where(AgendaItem.event_id == event_id)
        if room is not None:
            statement = statement.where(func.lower(AgendaItem.room) == func.lower(room))
        if theme is not None:
            statement = statement.where(AgendaItem.theme == theme)
        return (
            await self.session.scalars(keyset(statement, page, AgendaItem.starts_at, AgendaItem.id))
        ).all()

    async def in_event(self, event_id: int, item_id: int) -> AgendaItem | None:
        """The item if it is in the event's programme."""
        return await self.session.scalar(
            select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.event_id == event_id)
        )

    async def overlapping(
        self,
        event_id: int,
        room: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        other_than: int | None = None,
    ) -> AgendaItem | None:
        """The first item of the event in ``room`` (whatever its case) that shares some time
        with ``[starts_at, ends_at)``; items that only touch it do not."""
        statement = select(AgendaItem).where(
            AgendaItem.event_id == event_id,
            func.lower(AgendaItem.room) == func.lower(room),
            AgendaItem.starts_at < ends_at,
            AgendaItem.ends_at > starts_at,
        )
        if other_than is not None:
            statement = statement.where(AgendaItem.id != other_than)
        return await self.session.scalar(
            statement.order_by(AgendaItem.starts_at, AgendaItem.id).limit(1)
        )

    async def speakers_of(self, item_ids: Sequence[int]) -> dict[int, list[int]]:
        """The person ids speaking in each item, in order, in one query."""
        if not item_ids:
            return {}
        rows = await self.session.execute(
            select(AgendaSpeaker.agenda_item_id, AgendaSpeaker.person_id)
            .where(AgendaSpeaker.agenda_item_id.in_(item_ids))
            .order_by(AgendaSpeaker.agenda_item_id, AgendaSpeaker.position)
        )
        speakers: dict[int, list[int]] = {}
        for item_id, person_id in rows:
            speakers.setdefault(item_id, []).append(person_id)
        return speakers

    async def replace_speakers(self, item_id: int, person_ids: Sequence[int]) -> bool:
        """Make ``person_ids`` the item's speakers, in that order; whether they changed."""
        before = (await self.speakers_of([item_id])).get(item_id, [])
        after = list(person_ids)
        if before == after:
            return False
        await self.session.execute(
            delete(AgendaSpeaker).where(AgendaSpeaker.agenda_item_id == item_id)
        )
        if after:
            await self.session.execute(
                insert(AgendaSpeaker),
                [
                    {"agenda_item_id": item_id, "person_id": person_id, "position": position}
                    for position, person_id in enumerate(after)
                ],
            )
        # The speakers are part of the item; their rows are written without the ORM.
        await audit_log.record(
            self.session,
            action=Action.update,
            resource="agenda_item",
            resource_id=item_id,
            change={"speakers": [before, after]},
        )
        return True
