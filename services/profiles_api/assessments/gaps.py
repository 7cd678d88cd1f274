"""An assessment's gaps: its indicators scoring below a threshold, with the city's
challenges that name them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.assessments.schemas import FrameworkRef, Gap, GapChallenge, Gaps
from services.profiles_api.assessments.service import get_assessment
from services.profiles_api.challenges.repository import ChallengeRepository
from shared.auth import Principal


async def gaps(
    session: AsyncSession,
    principal: Principal | None,
    city: str,
    assessment_id: int,
    threshold: float,
) -> Gaps:
    """The indicators of an assessment scoring below ``threshold``, lowest first, each with
    the city's challenges that name it (``Challenge.assessment_indicators``)."""
    _, framework = await get_assessment(session, principal, city, assessment_id)
    below = await AssessmentRepository.from_session(session).indicators_below(
        city, assessment_id, framework.id, threshold
    )
    challenges = await ChallengeRepository.from_session(session).naming_framework(
        city, framework.code
    )
    items = []
    for score, item in below:
        named = [
            GapChallenge(
                id=challenge.id,
                theme=challenge.theme,
                need_type=str(challenge.need_type),
                priority=str(challenge.priority),
                description=challenge.description,
            )
            for challenge in challenges
            if {"framework": framework.code, "indicator": item.code}
            in challenge.assessment_indicators
        ]
        items.append(
            Gap(
                area=item.parent_code or "",
                indicator=item.code,
                titles=item.titles,
                score=round(score.score or 0.0, 4),
                completeness=round(score.answered / score.total, 4) if score.total else 0.0,
                challenges=named,
            )
        )
    return Gaps(threshold=threshold, framework=FrameworkRef.of(framework), items=items)
