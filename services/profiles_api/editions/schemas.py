from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self

from fastapi import Path
from pydantic import BaseModel, Field

from shared.schemas import InputModel

if TYPE_CHECKING:
    from services.profiles_api.editions.models import Edition

#: ``{CITY}-{YEAR}-{n}``: the city's code, the year of publication, the n-th of that year.
EDITION_ID_PATTERN = r"^[A-Z]{2}[A-Z2-9]{3}-[0-9]{4}-[1-9][0-9]{0,5}$"
EDITION_ID = re.compile(EDITION_ID_PATTERN)
EditionIdPath = Annotated[
    str, Path(pattern=EDITION_ID_PATTERN, max_length=24, examples=["PTLIS-2026-1"])
]
#: The network every edition is published by.
NETWORK = "MC2CM"
NETWORK_NAME = "Mediterranean City-to-City Migration (MC2CM)"
#: What a snapshot's ``format`` says: how to read it (bumped if its shape changes).
SNAPSHOT_FORMAT = "mc2cm.edition/1"


class EditionSummary(BaseModel):
    """An edition's metadata, without its content."""

    id: str = Field(examples=["PTLIS-2026-1"])
    city: str
    published_at: datetime
    content_hash: str = Field(
        description="SHA-256 (hex) of the snapshot as RFC 8785 canonical JSON (UTF-8)."
    )
    withdrawn: bool
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    successor: str | None = Field(
        default=None, description="The edition named as replacing a withdrawn one."
    )

    @classmethod
    def of(cls, edition: Edition) -> Self:
        return cls(
            id=edition.id,
            city=edition.city_code,
            published_at=edition.published_at,
            content_hash=edition.content_hash,
            withdrawn=edition.withdrawn_at is not None,
            withdrawn_at=edition.withdrawn_at,
            withdrawal_reason=edition.withdrawal_reason,
            successor=edition.successor_id,
        )


class EditionRead(EditionSummary):
    snapshot: dict[str, Any] = Field(
        description="The profile as published: its bytes are the canonical JSON the hash is "
        "taken of (format `mc2cm.edition/1`)."
    )


class WithdrawalCreate(InputModel):
    reason: str = Field(min_length=1, max_length=2000, examples=["A figure was mis-keyed."])
    successor: str | None = Field(
        default=None,
        pattern=EDITION_ID_PATTERN,
        description="The edition replacing this one (same city); by default the latest later "
        "edition of the city that is not withdrawn.",
    )


class ChangeKind(enum.StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"


class ValueChange(BaseModel):
    change: ChangeKind
    indicator: str
    period: str
    scope: str
    disaggregation: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class SectionChange(BaseModel):
    change: ChangeKind
    code: str
    languages: list[str] = Field(description="Languages whose title or text differ.")


class ChallengeChange(BaseModel):
    change: ChangeKind
    id: int
    theme: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class EditionChanges(BaseModel):
    edition: str
    since: str
    city: str
    values: list[ValueChange]
    sections: list[SectionChange]
    challenges: list[ChallengeChange]


class CitationFormat(enum.StrEnum):
    csl = "csl"
    bibtex = "bibtex"
    text = "text"


CSL_MEDIA_TYPE = "application/vnd.citationstyles.csl+json"
BIBTEX_MEDIA_TYPE = "application/x-bibtex"
TEXT_MEDIA_TYPE = "text/plain"
CITATION_MEDIA_TYPES = {
    CitationFormat.csl: CSL_MEDIA_TYPE,
    CitationFormat.bibtex: BIBTEX_MEDIA_TYPE,
    CitationFormat.text: TEXT_MEDIA_TYPE,
}
