from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator

from services.dialogue_api.people.schemas import PersonSummary
from shared.contracts.cities import CityCode
from shared.contracts.themes import Theme
from shared.i18n import LangMap, LanguageList, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.dialogue_api.exchanges.models import Exchange, ExchangeMatch
    from services.dialogue_api.exchanges.repository import ProposalRow


class ExchangeKind(enum.StrEnum):
    offer = "offer"
    request = "request"


class ExchangeStatus(enum.StrEnum):
    open = "open"
    matched = "matched"
    closed = "closed"


class EditableStatus(enum.StrEnum):
    """What a caller may set; `matched` comes only from confirming a match."""

    open = "open"
    closed = "closed"


#: Where a change may take each status. A matched exchange is the record of its match: it
#: stays matched (a city offering the same expertise again offers it anew).
TRANSITIONS: dict[ExchangeStatus, frozenset[ExchangeStatus]] = {
    ExchangeStatus.open: frozenset({ExchangeStatus.closed}),
    ExchangeStatus.closed: frozenset({ExchangeStatus.open}),
    ExchangeStatus.matched: frozenset(),
}


def _each_theme_once(themes: list[Theme]) -> list[Theme]:
    if len(set(themes)) != len(themes):
        raise ValueError("lists a theme twice")
    return themes


RelatedThemes = Annotated[
    list[Theme],
    Field(
        max_length=len(Theme),
        description="Further themes the expertise touches.",
        json_schema_extra={"uniqueItems": True},
    ),
    AfterValidator(_each_theme_once),
]


class ExchangeCreate(InputModel):
    kind: ExchangeKind
    city: CityCode
    theme: Theme
    related_themes: RelatedThemes = Field(default_factory=list)
    title: TitleMapEn = Field(examples=[{"en": "Intercultural mediation in schools"}])
    description: LangMap = Field(default_factory=dict)
    languages: LanguageList = Field(default_factory=list)
    contact: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The person to contact (an id)."
    )

    @model_validator(mode="after")
    def _theme_not_repeated(self) -> Self:
        if self.theme in self.related_themes:
            raise ValueError("related_themes repeats the exchange's theme")
        return self


class ExchangeUpdate(PatchModel):
    nullable = frozenset({"contact"})

    theme: Theme | None = None
    related_themes: RelatedThemes | None = None
    title: TitleMapEn | None = None
    description: LangMap | None = None
    languages: LanguageList | None = None
    contact: int | None = Field(default=None, ge=1, le=2**63 - 1)
    status: EditableStatus | None = None


class ExchangeRead(BaseModel):
    id: int
    kind: ExchangeKind
    city: str
    theme: Theme
    related_themes: list[Theme]
    title: str
    language: str
    titles: LangMap
    description: str | None
    descriptions: LangMap
    languages: list[str]
    contact: PersonSummary | None = Field(
        description="Null when there is none or the caller may not see them."
    )
    status: ExchangeStatus
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, exchange: Exchange, languages: Languages, contact: PersonSummary | None) -> Self:
        title, language = languages.pick(exchange.title)
        return cls(
            id=exchange.id,
            kind=ExchangeKind(exchange.kind),
            city=exchange.city_code,
            theme=Theme(exchange.theme),
            related_themes=[Theme(theme) for theme in exchange.related_themes],
            title=title or "",
            language=language or "en",
            titles=exchange.title,
            description=languages.text(exchange.description),
            descriptions=exchange.description,
            languages=exchange.languages,
            contact=contact,
            status=ExchangeStatus(exchange.status),
            version=exchange.version,
            created_at=exchange.created_at,
            updated_at=exchange.updated_at,
        )


class ExchangeBrief(BaseModel):
    id: int
    city: str
    theme: Theme
    title: str
    language: str

    @classmethod
    def of(cls, exchange: Exchange, languages: Languages) -> Self:
        title, language = languages.pick(exchange.title)
        return cls(
            id=exchange.id,
            city=exchange.city_code,
            theme=Theme(exchange.theme),
            title=title or "",
            language=language or "en",
        )


class Proposal(BaseModel):
    """An open request and an open offer of another city that could be paired."""

    request: ExchangeBrief
    offer: ExchangeBrief
    shared_themes: list[Theme]
    shared_languages: list[str]
    cities_paired_before: bool = Field(
        description="Whether these two cities were already paired by an earlier match."
    )
    theme_score: int = Field(description="How many themes they share (ranked first).")
    language_score: int = Field(description="How many languages they share (ranked second).")

    @classmethod
    def of(cls, row: ProposalRow, request: Exchange, offer: Exchange, languages: Languages) -> Self:
        """The pair as ranked, the two exchanges in brief in the caller's language."""
        return cls(
            request=ExchangeBrief.of(request, languages),
            offer=ExchangeBrief.of(offer, languages),
            shared_themes=[Theme(theme) for theme in row.shared_themes],
            shared_languages=row.shared_languages,
            cities_paired_before=row.paired_before,
            theme_score=len(row.shared_themes),
            language_score=len(row.shared_languages),
        )


class MatchCreate(InputModel):
    offer: int = Field(ge=1, le=2**63 - 1, description="The offer to pair with the request.")


class MatchRead(BaseModel):
    id: int
    request: int
    offer: int
    request_city: str
    offer_city: str
    matched_by: str | None = Field(
        description="The token subject who confirmed the pair; null for anonymous callers."
    )
    created_at: datetime

    @classmethod
    def of(cls, match: ExchangeMatch, *, show_author: bool) -> Self:
        return cls(
            id=match.id,
            request=match.request_id,
            offer=match.offer_id,
            request_city=match.request_city,
            offer_city=match.offer_city,
            matched_by=match.matched_by if show_author else None,
            created_at=match.created_at,
        )
