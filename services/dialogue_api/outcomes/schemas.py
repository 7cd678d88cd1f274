from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from shared.i18n import LangMap, Languages, LanguageTag, TitleMapEn
from shared.schemas import InputModel, PatchModel, WebAddress

if TYPE_CHECKING:
    from services.dialogue_api.outcomes.models import Outcome


class OutcomeKind(enum.StrEnum):
    minutes = "minutes"
    report = "report"
    presentation = "presentation"
    document = "document"
    recording = "recording"


Title = Field(
    description="The document's title by language (English required).",
    examples=[{"en": "Minutes of the expert meeting", "fr": "Compte rendu de la réunion"}],
)
Url = Field(
    description="Where the document is published (http or https).",
    examples=["https://www.example.org/mc2cm/2015-11-vienna-minutes.pdf"],
)
DocumentLanguage = Field(description="The language the document is written in.")


class OutcomeCreate(InputModel):
    kind: OutcomeKind
    title: TitleMapEn = Title
    url: WebAddress = Url
    document_language: LanguageTag = DocumentLanguage


class OutcomeUpdate(PatchModel):
    """Fields to change; omitted fields stay."""

    kind: OutcomeKind | None = None
    title: TitleMapEn | None = None
    url: WebAddress | None = None
    document_language: LanguageTag | None = None


class OutcomeRead(BaseModel):
    id: int
    event: int = Field(description="The event the outcome comes from.")
    kind: OutcomeKind
    title: str
    language: str = Field(description="The language of `title`.")
    titles: LangMap
    url: str
    document_language: str = Field(description="The language the document is written in.")
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, outcome: Outcome, languages: Languages) -> Self:
        """The outcome, its title in the caller's language."""
        title, language = languages.pick(outcome.title)
        return cls(
            id=outcome.id,
            event=outcome.event_id,
            kind=OutcomeKind(outcome.kind),
            title=title or "",
            language=language or "en",
            titles=outcome.title,
            url=outcome.url,
            document_language=outcome.language,
            version=outcome.version,
            updated_at=outcome.updated_at,
        )
