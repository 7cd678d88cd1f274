from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pydantic import BaseModel

from shared.contracts.cities import MembershipStatus, Region
from shared.i18n import LangMap, Languages

if TYPE_CHECKING:
    from services.dialogue_api.cities.models import CityRef


class CityRead(BaseModel):
    """A city as the dialogue knows it (profiles owns the full record)."""

    code: str
    name: str
    language: str
    names: LangMap
    country: str
    region: Region
    timezone: str
    membership_status: MembershipStatus

    @classmethod
    def of(cls, city: CityRef, languages: Languages) -> Self:
        name, language = languages.pick(city.names)
        return cls(
            code=city.code,
            name=name or city.code,
            language=language or "en",
            names=city.names,
            country=city.country,
            region=Region(city.region),
            timezone=city.timezone,
            membership_status=MembershipStatus(city.membership_status),
        )
