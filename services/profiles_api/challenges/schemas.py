from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from shared.contracts.themes import Theme
from shared.i18n import LangMap, LangMapEn, Languages
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.profiles_api.challenges.models import Challenge


class NeedType(enum.StrEnum):
    governance = "governance"
    resources = "resources"
    capabilities = "capabilities"


class Priority(enum.StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


Description = Field(
    description="What the city needs, by language (English required).",
    examples=[{"en": "No shared registry of newcomers between municipal services."}],
)


class AssessmentIndicatorRef(InputModel):
    """An indicator of a governance-assessment framework (any of its versions) that the
    challenge answers to: an assessment's gaps list the challenges naming them."""

    framework: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$", examples=["mgi_local"])
    indicator: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$", examples=["wog_coordination"])


class ChallengeCreate(InputModel):
    theme: Theme
    need_type: NeedType
    description: LangMapEn = Description
    priority: Priority = Priority.medium
    assessment_indicators: list[AssessmentIndicatorRef] = Field(
        default_factory=list,
        max_length=20,
        description="Indicators of assessment frameworks this need answers to.",
    )


class ChallengeUpdate(PatchModel):
    theme: Theme | None = None
    need_type: NeedType | None = None
    description: LangMapEn | None = None
    priority: Priority | None = None
    assessment_indicators: list[AssessmentIndicatorRef] | None = Field(default=None, max_length=20)


class ChallengeRead(BaseModel):
    id: int
    city: str
    theme: Theme
    need_type: NeedType
    description: str
    language: str
    descriptions: LangMap
    priority: Priority
    assessment_indicators: list[dict[str, str]] = Field(
        description="Indicators of assessment frameworks this need answers to "
        "(`framework`, `indicator`)."
    )
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, challenge: Challenge, languages: Languages) -> Self:
        """The challenge, its description in the caller's language."""
        description, language = languages.pick(challenge.description)
        return cls(
            id=challenge.id,
            city=challenge.city_code,
            theme=Theme(challenge.theme),
            need_type=NeedType(challenge.need_type),
            description=description or "",
            language=language or "en",
            descriptions=challenge.description,
            priority=Priority(challenge.priority),
            assessment_indicators=challenge.assessment_indicators,
            version=challenge.version,
            updated_at=challenge.updated_at,
        )
