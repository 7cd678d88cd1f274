from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from shared.contracts.cities import CityCode
from shared.contracts.themes import Theme
from shared.i18n import LangMap, LanguageList, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel, WebAddress
from shared.text import SINGLE_LINE
from shared.timezones import Timezone

if TYPE_CHECKING:
    from services.dialogue_api.events.models import Event


class EventType(enum.StrEnum):
    reconnaissance_mission = "reconnaissance_mission"
    expert_meeting = "expert_meeting"
    technical_meeting = "technical_meeting"
    peer_to_peer = "peer_to_peer"
    thematic_workshop = "thematic_workshop"
    stakeholder_workshop = "stakeholder_workshop"
    political_conference = "political_conference"
    webinar = "webinar"


class EventStatus(enum.StrEnum):
    planned = "planned"
    confirmed = "confirmed"
    held = "held"
    cancelled = "cancelled"


#: Where each status may go next. Held and cancelled events are history.
TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.planned: frozenset({EventStatus.confirmed, EventStatus.cancelled}),
    EventStatus.confirmed: frozenset(
        {EventStatus.planned, EventStatus.held, EventStatus.cancelled}
    ),
    EventStatus.held: frozenset(),
    EventStatus.cancelled: frozenset(),
}

# Each once (a model validator of the event says which field lists a value twice).
Themes = Annotated[
    list[Theme],
    Field(
        max_length=len(Theme),
        examples=[["housing", "health"]],
        json_schema_extra={"uniqueItems": True},
    ),
]
Cities = Annotated[
    list[CityCode],
    Field(max_length=100, examples=[["TNTUN", "PTLIS"]], json_schema_extra={"uniqueItems": True}),
]
Venue = Annotated[str, Field(max_length=300), SINGLE_LINE]


def _unique(field: str, values: Sequence[str] | None) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{field} lists a value twice")


class EventCreate(InputModel):
    type: EventType
    title: TitleMapEn = Field(examples=[{"en": "Expert meeting on migration in cities"}])
    description: LangMap = Field(default_factory=dict)
    themes: Themes = Field(default_factory=list)
    host_city: CityCode | None = Field(
        default=None, description="The city hosting the event; null for network-wide online ones."
    )
    participating_cities: Cities = Field(default_factory=list)
    venue: Venue | None = Field(default=None, examples=["Vienna City Hall"])
    online_url: WebAddress | None = None
    starts_at: AwareDatetime = Field(
        description="With its UTC offset; stored in UTC.", examples=["2015-11-18T09:00:00+01:00"]
    )
    ends_at: AwareDatetime = Field(examples=["2015-11-18T17:30:00+01:00"])
    timezone: Timezone = Field(description="IANA timezone where the event happens.")
    status: EventStatus = Field(
        default=EventStatus.planned, description="`planned` or `confirmed` when created."
    )
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    languages: LanguageList = Field(default_factory=list)
    interpretation: LanguageList = Field(
        default_factory=list, description="Languages interpretation is offered into."
    )
    public: bool = Field(default=True, description="Readable without a token.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique("themes", self.themes)
        _unique("participating_cities", self.participating_cities)
        if self.status not in (EventStatus.planned, EventStatus.confirmed):
            raise ValueError("status: a new event is planned or confirmed")
        return self


class EventUpdate(PatchModel):
    """Fields to change; omitted fields stay. Status moves planned → confirmed → held, or to
    cancelled; a held or cancelled event keeps its status."""

    nullable = frozenset(
        {
            "host_city",
            "venue",
            "online_url",
            "capacity",
            "registration_opens_at",
            "registration_closes_at",
        }
    )

    type: EventType | None = None
    title: TitleMapEn | None = None
    description: LangMap | None = None
    themes: Themes | None = None
    host_city: CityCode | None = None
    participating_cities: Cities | None = None
    venue: Venue | None = None
    online_url: WebAddress | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: Timezone | None = None
    status: EventStatus | None = None
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    languages: LanguageList | None = None
    interpretation: LanguageList | None = None
    public: bool | None = None

    @model_validator(mode="after")
    def _unique_lists(self) -> Self:
        _unique("themes", self.themes)
        _unique("participating_cities", self.participating_cities)
        return self


class Places(BaseModel):
    capacity: int | None = Field(description="Places in all; null when unlimited.")
    taken: int = Field(description="Registered or attended.")
    available: int | None = Field(description="Free places; null when unlimited.")
    waitlisted: int


class EventRead(BaseModel):
    id: int
    type: EventType
    title: str
    language: str = Field(description="The language of `title`.")
    titles: LangMap
    description: str | None
    descriptions: LangMap
    themes: list[Theme]
    host_city: str | None
    participating_cities: list[str]
    venue: str | None
    online_url: str | None
    starts_at: datetime = Field(description="In UTC.")
    ends_at: datetime
    timezone: str
    local_starts_at: datetime = Field(description="In the event's timezone, with its offset.")
    local_ends_at: datetime
    status: EventStatus
    places: Places
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    registration_open: bool = Field(description="Whether registering is possible now.")
    languages: list[str]
    interpretation: list[str]
    public: bool
    version: int
    updated_at: datetime

    @classmethod
    def of(
        cls, event: Event, languages: Languages, *, taken: int, waitlisted: int, now: datetime
    ) -> Self:
        """The event in the caller's language, with its places and local times."""
        title, language = languages.pick(event.title)
        zone = ZoneInfo(event.timezone)
        available = None if event.capacity is None else max(event.capacity - taken, 0)
        return cls(
            id=event.id,
            type=EventType(event.type),
            title=title or "",
            language=language or "en",
            titles=event.title,
            description=languages.text(event.description),
            descriptions=event.description,
            themes=[Theme(theme) for theme in event.themes],
            host_city=event.host_city_code,
            participating_cities=event.participating_cities,
            venue=event.venue,
            online_url=event.online_url,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            local_starts_at=event.starts_at.astimezone(zone),
            local_ends_at=event.ends_at.astimezone(zone),
            status=EventStatus(event.status),
            places=Places(
                capacity=event.capacity, taken=taken, available=available, waitlisted=waitlisted
            ),
            registration_opens_at=event.registration_opens_at,
            registration_closes_at=event.registration_closes_at,
            registration_open=registration_open(event, now),
            languages=event.languages,
            interpretation=event.interpretation,
            public=event.public,
            version=event.version,
            updated_at=event.updated_at,
        )


def registration_open(event: Event, now: datetime) -> bool:
    """Whether people may register now: a planned or confirmed event, inside its window,
    before it ends."""
    if event.status not in (EventStatus.planned, EventStatus.confirmed):
        return False
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        return False
    if event.registration_closes_at is not None and now >= event.registration_closes_at:
        return False
    return now < event.ends_at
