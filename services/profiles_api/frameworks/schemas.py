"""What the frameworks API answers: a version's summary, or the version whole."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from services.profiles_api.frameworks.document import FrameworkDocument

if TYPE_CHECKING:
    from services.profiles_api.frameworks.models import Framework


class FrameworkSummary(BaseModel):
    code: str
    version: str
    titles: dict[str, str]
    model: str
    licence: str
    rankable: bool
    content_hash: str = Field(description="SHA-256 of the version's canonical JSON.")
    areas: int
    questions: int
    published_at: datetime

    @classmethod
    def of(cls, framework: Framework) -> Self:
        document = FrameworkDocument.model_validate(framework.document)
        return cls(
            code=framework.code,
            version=framework.version,
            titles=framework.titles,
            model=framework.model,
            licence=framework.licence,
            rankable=framework.rankable,
            content_hash=framework.content_hash,
            areas=len(document.areas),
            questions=sum(1 for _ in document.questions()),
            published_at=framework.created_at,
        )


class FrameworkRead(FrameworkSummary):
    """A framework version whole: its summary and its document, as published."""

    document: FrameworkDocument

    @classmethod
    def of(cls, framework: Framework) -> Self:
        summary = FrameworkSummary.of(framework)
        return cls(
            **summary.model_dump(), document=FrameworkDocument.model_validate(framework.document)
        )
