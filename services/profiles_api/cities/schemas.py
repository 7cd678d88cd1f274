from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, EmailStr, Field

from shared.contracts.cities import CityCode, MembershipStatus, Region
from shared.i18n import LangMap, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel
from shared.text import SINGLE_LINE
from shared.timezones import Timezone

if TYPE_CHECKING:
    from services.profiles_api.cities.models import City

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["PT"])]


class FocalPointKind(enum.StrEnum):
    political = "political"
    technical = "technical"


class FocalPoint(InputModel):
    """A city's contact for the network: its political or technical focal point."""

    kind: FocalPointKind
    name: Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
    position: (
        Annotated[str, Field(max_length=200, examples=["Deputy Mayor"]), SINGLE_LINE] | None
    ) = None
    organisation: Annotated[str, Field(max_length=200), SINGLE_LINE] | None = None
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=40), SINGLE_LINE] | None = None


class Membership(InputModel):
    status: MembershipStatus
    since: date | None = Field(default=None, description="When the city joined the network.")


class CityCreate(InputModel):
    code: CityCode
    names: TitleMapEn = Field(examples=[{"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa"}])
    country: Country
    region: Region
    latitude: float | None = Field(default=None, ge=-90, le=90, examples=[38.72])
    longitude: float | None = Field(default=None, ge=-180, le=180, examples=[-9.14])
    timezone: Timezone
    membership: Membership
    focal_points: list[FocalPoint] = Field(default_factory=list, max_length=20)


class CityUpdate(PatchModel):
    """Fields to change; omitted fields stay as they are. `latitude`/`longitude` may be null."""

    nullable = frozenset({"latitude", "longitude"})

    names: TitleMapEn | None = None
    country: Country | None = None
    region: Region | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    timezone: Timezone | None = None
    membership: Membership | None = None
    focal_points: list[FocalPoint] | None = Field(default=None, max_length=20)


class CityRead(BaseModel):
    code: CityCode
    name: str = Field(description="The name in the negotiated language.")
    language: str = Field(description="The language `name` is in.")
    names: LangMap
    country: Country
    region: Region
    latitude: float | None
    longitude: float | None
    timezone: str
    membership: Membership
    focal_points: list[FocalPoint] | None = Field(
        description="Contacts; only shown to authenticated callers (null otherwise)."
    )
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, city: City, languages: Languages, *, show_contacts: bool) -> Self:
        """The city in the caller's language; its contacts only if ``show_contacts``."""
        name, language = languages.pick(city.names)
        return cls(
            code=city.code,
            name=name or city.code,
            language=language or "en",
            names=city.names,
            country=city.country,
            region=Region(city.region),
            latitude=city.latitude,
            longitude=city.longitude,
            timezone=city.timezone,
            membership=Membership(
                status=MembershipStatus(city.membership_status), since=city.membership_since
            ),
            focal_points=[FocalPoint.model_validate(fp) for fp in city.focal_points]
            if show_contacts
            else None,
            version=city.version,
            updated_at=city.updated_at,
        )
