"""How services refer to a city they do not own: by its UN/LOCODE, without the space."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

CITY_CODE_PATTERN = r"^[A-Z]{2}[A-Z2-9]{3}$"

CityCode = Annotated[
    str,
    Field(
        pattern=CITY_CODE_PATTERN,
        description="UN/LOCODE without the space, e.g. `PTLIS` for Lisbon.",
        examples=["PTLIS"],
    ),
]


class Region(enum.StrEnum):
    europe = "europe"
    south_mediterranean = "south_mediterranean"
    middle_east = "middle_east"
    sub_saharan_africa = "sub_saharan_africa"
    other = "other"


class MembershipStatus(enum.StrEnum):
    confirmed = "confirmed"
    expected = "expected"


class CityRef(BaseModel):
    """What another service keeps of a city (the dialogue's read model)."""

    model_config = ConfigDict(frozen=True)

    code: CityCode
    names: dict[str, str]
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: Region
    timezone: str
    membership_status: MembershipStatus
