from __future__ import annotations

import enum
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, Field

from shared.schemas import InputModel, PatchModel
from shared.text import SINGLE_LINE

if TYPE_CHECKING:
    from services.profiles_api.sources.models import Source


class SourceKind(enum.StrEnum):
    census = "census"
    register = "register"
    administrative = "administrative"
    survey = "survey"
    unhcr = "unhcr"
    mc2cm_profile = "mc2cm_profile"
    academic = "academic"
    ngo_estimate = "ngo_estimate"
    press = "press"
    other = "other"


#: Reliability rank given to a new source of each kind unless one is set: 1 is most reliable.
DEFAULT_RELIABILITY: MappingProxyType[SourceKind, int] = MappingProxyType(
    {
        SourceKind.census: 1,
        SourceKind.register: 1,
        SourceKind.administrative: 2,
        SourceKind.unhcr: 2,
        SourceKind.mc2cm_profile: 2,
        SourceKind.survey: 3,
        SourceKind.academic: 3,
        SourceKind.ngo_estimate: 4,
        SourceKind.press: 5,
        SourceKind.other: 5,
    }
)

Title = Annotated[
    str,
    Field(min_length=1, max_length=500, examples=["Recensement de la population 2019"]),
    SINGLE_LINE,
]
Text = Annotated[str, Field(min_length=1, max_length=500), SINGLE_LINE]
#: No spaces and no control characters (a URL's own characters are printable ASCII, or
#: letters of an internationalised address).
Url = Annotated[
    str,
    Field(
        max_length=2000,
        pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]+$",
        examples=["https://www.insee.fr/"],
    ),
]
Rank = Annotated[
    int,
    Field(
        ge=1,
        le=5,
        description="1 (most reliable) to 5; decides which source's value is preferred. "
        "Defaults by kind: census and registers 1; administrative, UNHCR and MC2CM profiles 2; "
        "surveys and academic work 3; NGO estimates 4; press and other 5.",
    ),
]
Licence = Annotated[str, Field(min_length=1, max_length=200, examples=["CC BY 4.0"]), SINGLE_LINE]


class SourceCreate(InputModel):
    title: Title
    publisher: Text | None = None
    url: Url | None = None
    kind: SourceKind
    reliability_rank: Rank | None = None
    licence: Licence | None = None
    accessed_on: date | None = None


class SourceUpdate(PatchModel):
    nullable = frozenset({"publisher", "url", "licence", "accessed_on"})

    title: Title | None = None
    publisher: Text | None = None
    url: Url | None = None
    kind: SourceKind | None = None
    reliability_rank: Rank | None = None
    licence: Licence | None = None
    accessed_on: date | None = None


class SourceRead(BaseModel):
    id: int
    title: str
    publisher: str | None
    url: str | None
    kind: SourceKind
    reliability_rank: int
    licence: str | None
    accessed_on: date | None
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, source: Source) -> Self:
        """The source as stored."""
        return cls.model_validate(source, from_attributes=True)
