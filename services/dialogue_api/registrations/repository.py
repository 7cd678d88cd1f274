from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from services.dialogue_api.people.models import Person
from services.dialogue_api.people.repository import sees_person_clause
from services.dialogue_api.registrations.models import Registration
from shared.auth import Principal
from shared.pagination import PageParams, keyset
from shared.repository import Repository


@dataclass(frozen=True)
class RegistrationRow:
    """A registration with what reading it needs: its person's city and waitlist position."""

    registration: Registration
    person_city: str | None
    waitlist_position: int | None


class RegistrationRepository(Repository[Registration]):
    model = Registration

    @staticmethod
    def _with_positions(event_id: int, principal: Principal | None) -> Select[Any]:
        """Registrations of the event whose people the caller sees, with each one's place in
        the waitlist counted among everyone waiting (seen or not)."""
        waiting = (
            select(
                Registration.id.label("id"),
                func.row_number()
                .over(order_by=(Registration.waitlisted_at, Registration.id))
                .label("position"),
            )
            .where(Registration.event_id == event_id, Registration.status == "waitlisted")
            .subquery("waiting")
        )
        return (
            select(Registration, Person.city_code, waiting.c.position)
            .join(Person, Person.id == Registration.person_id)
            .outerjoin(waiting, waiting.c.id == Registration.id)
            .where(Registration.event_id == event_id, sees_person_clause(principal))
        )

    async def for_event(
        self,
        event_id: int,
        principal: Principal | None,
        page: PageParams,
        *,
        statuses: Sequence[str] = (),
    ) -> list[RegistrationRow]:
        """A page of the event's registrations the caller may see, by id."""
        statement = self._with_positions(event_id, principal)
        if statuses:
            statement = statement.where(Registration.status.in_(statuses))
        rows = await self.session.execute(keyset(statement, page, Registration.id))
        return [RegistrationRow(*row) for row in rows]

    async def seen_in_event(
        self, event_id: int, registration_id: int, principal: Principal | None
    ) -> RegistrationRow | None:
        """The registration if it is the event's and the caller may see its person."""
        statement = self._with_positions(event_id, principal).where(
            Registration.id == registration_id
        )
        row = (await self.session.execute(statement)).first()
        return RegistrationRow(*row) if row is not None else None

    async def for_pair(self, event_id: int, person_id: int) -> Registration | None:
        """The person's registration for the event, whatever its status."""
        return await self.session.scalar(
            select(Registration).where(
                Registration.event_id == event_id, Registration.person_id == person_id
            )
        )
