from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from shared.contracts.cities import CityCode
from shared.i18n import LanguageList
from shared.schemas import InputModel, PatchModel
from shared.text import SINGLE_LINE

if TYPE_CHECKING:
    from services.dialogue_api.people.models import Person


class PersonRole(enum.StrEnum):
    mayor = "mayor"
    political_official = "political_official"
    technical_focal_point = "technical_focal_point"
    expert = "expert"
    partner_staff = "partner_staff"
    stakeholder = "stakeholder"


#: The same tags as the keys of language maps (``shared.i18n``): ``en``, ``fr``, ``pt-BR``.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    SINGLE_LINE,
    Field(examples=["Amira Ben Salah"]),
]
Email = Annotated[
    EmailStr,
    Field(
        max_length=320,
        description="Unique whatever its case. Shown to others only with consent to be contacted.",
        examples=["amira.bensalah@example.org"],
    ),
]
Organisation = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    SINGLE_LINE,
    Field(examples=["Municipalité de Tunis"]),
]
SpokenLanguages = Annotated[
    LanguageList,
    Field(description="Languages the person works in.", examples=[["ar", "fr"]]),
]
CITY = "The person's city; null for people of no city (experts, network staff)."
CONSENT_LISTED = (
    "Whether the person agreed to be shown to anyone; otherwise only admins and editors of "
    "the person's city see them."
)
CONSENT_CONTACT = "Whether the person agreed to show their e-mail address to other readers."


class PersonCreate(InputModel):
    name: Name
    email: Email
    organisation: Organisation | None = None
    role: PersonRole
    city: CityCode | None = Field(default=None, description=CITY)
    languages: SpokenLanguages = Field(default_factory=list)
    consent_listed: bool = Field(default=False, description=CONSENT_LISTED)
    consent_contact: bool = Field(default=False, description=CONSENT_CONTACT)


class PersonUpdate(PatchModel):
    """Fields to change; omitted fields stay. ``organisation`` and ``city`` can be cleared."""

    nullable = frozenset({"organisation", "city"})

    name: Name | None = None
    email: Email | None = None
    organisation: Organisation | None = None
    role: PersonRole | None = None
    city: CityCode | None = Field(default=None, description=CITY)
    languages: SpokenLanguages | None = None
    consent_listed: bool | None = Field(default=None, description=CONSENT_LISTED)
    consent_contact: bool | None = Field(default=None, description=CONSENT_CONTACT)


class PersonRead(BaseModel):
    id: int
    name: str
    email: str | None = Field(
        description="Null unless the person consented to be contacted or the caller manages "
        "the person's city."
    )
    organisation: str | None
    role: PersonRole
    city: str | None
    languages: list[str]
    consent_listed: bool
    consent_contact: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, person: Person, *, shows_email: bool) -> Self:
        """The person, their e-mail address only if the caller may see it."""
        return cls(
            id=person.id,
            name=person.name,
            email=person.email if shows_email else None,
            organisation=person.organisation,
            role=PersonRole(person.role),
            city=person.city_code,
            languages=person.languages,
            consent_listed=person.consent_listed,
            consent_contact=person.consent_contact,
            version=person.version,
            created_at=person.created_at,
            updated_at=person.updated_at,
        )


class PersonSummary(BaseModel):
    """A person as other resources show them (speakers, owners, contacts, registrations)."""

    id: int
    name: str
    organisation: str | None
    role: PersonRole
    city: str | None
    email: str | None = Field(
        description="Null unless the person consented to be contacted or the caller manages "
        "the person's city."
    )

    @classmethod
    def of(cls, person: Person, *, shows_email: bool) -> Self:
        """The person in brief, their e-mail address only if the caller may see it."""
        return cls(
            id=person.id,
            name=person.name,
            organisation=person.organisation,
            role=PersonRole(person.role),
            city=person.city_code,
            email=person.email if shows_email else None,
        )
