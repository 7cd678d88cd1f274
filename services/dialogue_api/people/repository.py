from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select, true

from services.dialogue_api.actions.models import Action
from services.dialogue_api.agenda.models import AgendaSpeaker
from services.dialogue_api.exchanges.models import Exchange
from services.dialogue_api.people.models import Person
from services.dialogue_api.registrations.models import Registration
from shared.auth import Principal, Role
from shared.pagination import PageParams, keyset
from shared.repository import Repository


def sees_person_clause(principal: Principal | None) -> ColumnElement[bool]:
    """``access.sees_person`` in SQL over ``Person``: listed people, all of them for admins,
    and the people of their cities for editors."""
    if principal is not None and principal.is_admin:
        return true()
    if principal is not None and principal.role is Role.editor and principal.cities:
        return or_(Person.consent_listed.is_(True), Person.city_code.in_(principal.cities))
    return Person.consent_listed.is_(True)


def contains_escaped(text: str) -> str:
    """An ``ILIKE`` pattern matching ``text`` anywhere, its ``%``, ``_`` and ``\\`` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class PersonFilters:
    city: str | None = None
    role: str | None = None
    language: str | None = None
    name: str | None = None
    organisation: str | None = None


#: What may refer to a person (each a RESTRICT foreign key), by the name a 409 gives it.
_REFERENCES = (
    ("registrations", Registration.person_id),
    ("agenda_speakers", AgendaSpeaker.person_id),
    ("actions", Action.owner_id),
    ("exchanges", Exchange.contact_id),
)


class PersonRepository(Repository[Person]):
    model = Person

    async def search(
        self, principal: Principal | None, filters: PersonFilters, page: PageParams
    ) -> Sequence[Person]:
        """A page of the people the caller may see, by id. Visibility is part of the query,
        so a page holds ``limit`` visible people whenever there are that many."""
        statement = select(Person).where(sees_person_clause(principal))
        if filters.city is not None:
            statement = statement.where(Person.city_code == filters.city)
        if filters.role is not None:
            statement = statement.where(Person.role == filters.role)
        if filters.language is not None:
            # A person speaking `pt-BR` speaks `pt`; tags are case-insensitive (RFC 5646).
            tag = func.unnest(Person.languages).table_valued("value").render_derived(name="tag")
            wanted = filters.language.lower()
            statement = statement.where(
                exists(
                    select(1)
                    .select_from(tag)
                    .where(
                        or_(
                            func.lower(tag.c.value) == wanted,
                            func.lower(tag.c.value).startswith(wanted + "-", autoescape=True),
                        )
                    )
                )
            )
        if filters.name is not None:
            statement = statement.where(
                Person.name.ilike(contains_escaped(filters.name), escape="\\")
            )
        if filters.organisation is not None:
            statement = statement.where(
                Person.organisation.ilike(contains_escaped(filters.organisation), escape="\\")
            )
        return (await self.session.scalars(keyset(statement, page, Person.id))).all()

    async def visible(self, principal: Principal | None, person_id: int) -> Person | None:
        """The person if the caller may see them."""
        return await self.session.scalar(
            select(Person).where(Person.id == person_id, sees_person_clause(principal))
        )

    async def visible_among(
        self, principal: Principal | None, person_ids: Sequence[int]
    ) -> Sequence[Person]:
        """Those of ``person_ids`` the caller may see, in one query."""
        return (
            await self.session.scalars(
                select(Person).where(Person.id.in_(person_ids), sees_person_clause(principal))
            )
        ).all()

    async def email_taken(self, email: str, *, other_than: int | None = None) -> bool:
        """Whether someone (else than ``other_than``) has ``email``, whatever its case."""
        statement = select(Person.id).where(func.lower(Person.email) == func.lower(email))
        if other_than is not None:
            statement = statement.where(Person.id != other_than)
        return bool(await self.session.scalar(select(statement.exists())))

    async def dependent_kinds(self, person_id: int) -> list[str]:
        """What still refers to the person, and so keeps them from being removed."""
        kinds = []
        for name, column in _REFERENCES:
            if await self.session.scalar(select(exists().where(column == person_id))):
                kinds.append(name)
        return kinds
