"""The review's announcements: ``assessment.submitted``, ``.validated`` and ``.published``
outbox events, written in the transaction of the status change."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.models import Assessment
from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.assessments.schemas import AssessmentStatus
from services.profiles_api.db import events
from services.profiles_api.frameworks.models import Framework, FrameworkItem
from shared.auth import Principal
from shared.contracts.events import (
    AssessmentFramework,
    AssessmentIndicator,
    AssessmentPublished,
    AssessmentScore,
    AssessmentStatusFields,
    AssessmentSubmitted,
    AssessmentValidated,
    EventPayload,
)


async def announce(
    session: AsyncSession, principal: Principal, assessment: Assessment, framework: Framework
) -> None:
    """Write ``assessment.submitted``, ``.validated`` or ``.published`` (nothing for a return
    to draft) in the transaction of the change."""
    payload = await payload_of(session, assessment, framework)
    if payload is not None:
        await events.add(session, payload, actor=principal.subject)


async def payload_of(
    session: AsyncSession, assessment: Assessment, framework: Framework
) -> EventPayload | None:
    """The event of the assessment's status (``None`` for a draft); a publication carries
    its scores and the framework version's indicators, which is what the dialogue keeps."""
    fields = AssessmentStatusFields(
        assessment_id=assessment.id,
        city=assessment.city_code,
        framework=AssessmentFramework(
            code=framework.code,
            version=framework.version,
            titles=framework.titles,
            rankable=framework.rankable,
        ),
        reference_date=assessment.reference_date,
        status=AssessmentStatus(assessment.status).value,
    ).model_dump()
    if assessment.status == AssessmentStatus.submitted:
        return AssessmentSubmitted(**fields)
    if assessment.status == AssessmentStatus.validated:
        return AssessmentValidated(**fields)
    if assessment.status != AssessmentStatus.published:
        return None
    indicators = await session.scalars(
        select(FrameworkItem)
        .where(FrameworkItem.framework_id == framework.id, FrameworkItem.level == "indicator")
        .order_by(FrameworkItem.parent_code, FrameworkItem.position)
    )
    scores = await AssessmentRepository.from_session(session).scores(
        assessment.city_code, assessment.id, framework.id
    )
    return AssessmentPublished(
        **fields,
        published_at=assessment.published_at or datetime.now(UTC),
        scores=[
            AssessmentScore(
                level=score.level,
                code=score.code,
                parent=score.parent_code,
                score=None if score.score is None else round(score.score, 4),
                reason=score.reason,
                completeness=round(score.answered / score.total, 4) if score.total else 0.0,
            )
            for score in scores
        ],
        indicators=[
            AssessmentIndicator(code=item.code, area=item.parent_code, titles=item.titles)
            for item in indicators
        ],
    )


async def published_assessments(session: AsyncSession) -> list[AssessmentPublished]:
    """The ``assessment.published`` event of every published assessment, as it was announced
    (what the seed gives the dialogue's read model before any worker runs)."""
    repository = AssessmentRepository.from_session(session)
    published = []
    for assessment, framework in await repository.published():
        payload = await payload_of(session, assessment, framework)
        if isinstance(payload, AssessmentPublished):
            published.append(payload)
    return published
