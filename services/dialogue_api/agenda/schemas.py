from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, field_validator

from services.dialogue_api.people.schemas import PersonSummary
from shared.contracts.themes import Theme
from shared.i18n import LangMap, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel
from shared.text import SINGLE_LINE

if TYPE_CHECKING:
    from services.dialogue_api.agenda.service import AgendaEntry

Room = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    SINGLE_LINE,
    Field(
        description="Where it happens; items in the same room (whatever its case) may not "
        "overlap. Items without a room never conflict.",
        examples=["Salle des fêtes"],
    ),
]
PersonId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Speakers = Annotated[
    list[PersonId],
    Field(
        max_length=50,
        description="Ids of the people speaking, in the order they speak; each once.",
        examples=[[12, 7]],
        json_schema_extra={"uniqueItems": True},
    ),
]
Title = Field(examples=[{"en": "Opening session", "fr": "Séance d'ouverture"}])


def _each_once(speakers: list[int] | None) -> list[int] | None:
    if speakers is not None and len(set(speakers)) != len(speakers):
        raise ValueError("lists a person twice")
    return speakers


class AgendaItemCreate(InputModel):
    starts_at: AwareDatetime = Field(
        description="With its UTC offset; within the event.", examples=["2027-03-10T09:30:00+01:00"]
    )
    ends_at: AwareDatetime = Field(
        description="After `starts_at`; within the event.", examples=["2027-03-10T11:00:00+01:00"]
    )
    title: TitleMapEn = Title
    room: Room | None = None
    theme: Theme | None = None
    speakers: Speakers = Field(default_factory=list)

    _speakers_once = field_validator("speakers")(_each_once)


class AgendaItemUpdate(PatchModel):
    """Fields to change; omitted fields stay. `speakers` replaces the whole list."""

    nullable = frozenset({"room", "theme"})

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    title: TitleMapEn | None = None
    room: Room | None = None
    theme: Theme | None = None
    speakers: Speakers | None = None

    _speakers_once = field_validator("speakers")(_each_once)


class AgendaItemRead(BaseModel):
    id: int
    event_id: int
    starts_at: datetime = Field(description="In UTC.")
    ends_at: datetime
    local_starts_at: datetime = Field(description="In the event's timezone, with its offset.")
    local_ends_at: datetime
    title: str
    language: str = Field(description="The language of `title`.")
    titles: LangMap
    room: str | None
    theme: Theme | None
    speakers: list[PersonSummary] = Field(
        description="In speaking order; people the caller may not see are left out."
    )
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, entry: AgendaEntry, languages: Languages) -> Self:
        """The item in the caller's language, with local times and the speakers shown."""
        item, zone = entry.item, ZoneInfo(entry.timezone)
        title, language = languages.pick(item.title)
        return cls(
            id=item.id,
            event_id=item.event_id,
            starts_at=item.starts_at,
            ends_at=item.ends_at,
            local_starts_at=item.starts_at.astimezone(zone),
            local_ends_at=item.ends_at.astimezone(zone),
            title=title or "",
            language=language or "en",
            titles=item.title,
            room=item.room,
            theme=Theme(item.theme) if item.theme is not None else None,
            speakers=list(entry.speakers),
            version=item.version,
            updated_at=item.updated_at,
        )
