from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from services.dialogue_api.outcomes.models import Outcome
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class OutcomeRepository(Repository[Outcome]):
    model = Outcome

    async def for_event(
        self, event_id: int, page: PageParams, *, kind: str | None = None
    ) -> Sequence[Outcome]:
        """A page of the event's outcomes, by id."""
        statement = select(Outcome).where(Outcome.event_id == event_id)
        if kind is not None:
            statement = statement.where(Outcome.kind == kind)
        return (await self.session.scalars(keyset(statement, page, Outcome.id))).all()

    async def of_event(self, event_id: int, outcome_id: int) -> Outcome | None:
        """The outcome if it is the event's."""
        return await self.session.scalar(
            select(Outcome).where(Outcome.id == outcome_id, Outcome.event_id == event_id)
        )
