from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from shared.contracts.themes import Theme
from shared.i18n import LangMap, LangMapEn, Languages, TitleMap
from shared.schemas import InputModel

if TYPE_CHECKING:
    from services.profiles_api.sections.models import Section


class SectionCode(enum.StrEnum):
    """Three framing chapters, then one chapter per theme (the same codes as ``Theme``)."""

    synopsis = "synopsis"
    national_context = "national_context"
    data_reflections = "data_reflections"
    demography = Theme.demography.value
    intercultural = Theme.intercultural.value
    health = Theme.health.value
    education = Theme.education.value
    housing = Theme.housing.value
    urban_planning = Theme.urban_planning.value
    human_rights = Theme.human_rights.value
    co_development = Theme.co_development.value
    employment = Theme.employment.value


class SectionStatus(enum.StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"


#: The editorial workflow: which status may follow which.
TRANSITIONS: dict[SectionStatus, frozenset[SectionStatus]] = {
    SectionStatus.draft: frozenset({SectionStatus.in_review}),
    SectionStatus.in_review: frozenset({SectionStatus.draft, SectionStatus.published}),
    SectionStatus.published: frozenset({SectionStatus.draft}),
}


class SectionView(enum.StrEnum):
    published = "published"
    working = "working"


class SectionWrite(InputModel):
    """The text of a section; editing a published section starts a new draft."""

    title: TitleMap = Field(default_factory=dict, examples=[{"en": "Health", "fr": "Santé"}])
    narrative: LangMapEn = Field(
        description="Markdown by language; English is required as the fallback.",
        examples=[{"en": "Migrants register with the municipal health service…"}],
    )


class SectionTransition(InputModel):
    status: SectionStatus = Field(description="The status to move to.")


class SectionRead(BaseModel):
    city: str
    code: str
    view: SectionView = Field(description="`published` text or the `working` copy.")
    status: SectionStatus
    title: str | None
    narrative: str
    language: str = Field(description="The language `title` and `narrative` are in.")
    titles: LangMap
    narratives: LangMap
    version: int
    published_version: int | None
    published_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, section: Section, view: SectionView, languages: Languages) -> Self:
        """The section as ``view`` shows it: the published copy carries its own version and
        date, so a public reader learns nothing of a draft in progress."""
        if view is SectionView.published:
            titles = section.published_title or {}
            narratives = section.published_narrative or {}
            current_status = SectionStatus.published
            version = section.published_version or 0
            updated_at = section.published_at or section.updated_at
        else:
            titles, narratives = section.title, section.narrative
            current_status = SectionStatus(section.status)
            version, updated_at = section.version, section.updated_at
        narrative, language = languages.pick(narratives)
        return cls(
            city=section.city_code,
            code=section.code,
            view=view,
            status=current_status,
            title=titles.get(language or "en") or languages.text(titles),
            narrative=narrative or "",
            language=language or "en",
            titles=titles,
            narratives=narratives,
            version=version,
            published_version=section.published_version,
            published_at=section.published_at,
            updated_at=updated_at,
        )
