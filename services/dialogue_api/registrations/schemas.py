from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, Field

from services.dialogue_api.people.schemas import PersonSummary
from shared.i18n import LanguageTag
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.dialogue_api.registrations.models import Registration


class RegistrationStatus(enum.StrEnum):
    invited = "invited"
    registered = "registered"
    waitlisted = "waitlisted"
    declined = "declined"
    cancelled = "cancelled"
    attended = "attended"


S = RegistrationStatus

#: Where a caller may move each status. ``waitlisted`` → ``registered`` happens only by
#: promotion when a place frees; asking for ``registered`` from ``declined`` or ``cancelled``
#: goes back through the capacity (and may end on the waitlist). Attendance is final.
TRANSITIONS: dict[RegistrationStatus, frozenset[RegistrationStatus]] = {
    S.invited: frozenset({S.registered, S.declined}),
    S.registered: frozenset({S.cancelled, S.declined, S.attended}),
    S.waitlisted: frozenset({S.cancelled}),
    S.declined: frozenset({S.registered}),
    S.cancelled: frozenset({S.registered}),
    S.attended: frozenset(),
}

InterpretationLanguage = Field(
    default=None,
    description="The language the person needs interpretation into; one of the event's "
    "`interpretation` languages when the event lists any.",
)
Note = Field(
    default=None,
    max_length=2000,
    description="For the organisers; shown only to those who manage the person's or the host city.",
    examples=["Arrives the evening before; vegetarian."],
)


class RegistrationCreate(InputModel):
    person: int = Field(ge=1, le=2**63 - 1, description="The id of the person.", examples=[42])
    status: Literal[RegistrationStatus.invited, RegistrationStatus.registered] = Field(
        default=RegistrationStatus.registered,
        description="`invited`, or `registered` (which becomes `waitlisted` when the event "
        "is full).",
    )
    needs_visa_letter: bool = False
    interpretation_language: LanguageTag | None = InterpretationLanguage
    note: str | None = Note


class RegistrationUpdate(PatchModel):
    """Fields to change; omitted fields stay. Status moves invited → registered or declined,
    registered → cancelled, declined or attended, waitlisted → cancelled, declined or
    cancelled → registered again; attended is final."""

    nullable = frozenset({"interpretation_language", "note"})

    status: RegistrationStatus | None = None
    needs_visa_letter: bool | None = None
    interpretation_language: LanguageTag | None = InterpretationLanguage
    note: str | None = Note


class RegistrationRead(BaseModel):
    id: int
    event: int = Field(description="The id of the event.")
    person: PersonSummary
    status: RegistrationStatus
    needs_visa_letter: bool
    interpretation_language: str | None
    note: str | None = Field(
        description="Null unless the caller manages the person's city or the host city."
    )
    waitlist_position: int | None = Field(
        description="1 for the next person to get a place; null unless waitlisted."
    )
    status_changed_at: datetime
    version: int
    updated_at: datetime

    @classmethod
    def of(
        cls,
        registration: Registration,
        person: PersonSummary,
        *,
        waitlist_position: int | None,
        sees_note: bool,
    ) -> Self:
        """The registration as the caller may see it."""
        return cls(
            id=registration.id,
            event=registration.event_id,
            person=person,
            status=RegistrationStatus(registration.status),
            needs_visa_letter=registration.needs_visa_letter,
            interpretation_language=registration.interpretation_language,
            note=registration.note if sees_note else None,
            waitlist_position=waitlist_position,
            status_changed_at=registration.status_changed_at,
            version=registration.version,
            updated_at=registration.updated_at,
        )
