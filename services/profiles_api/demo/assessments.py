"""Demo governance assessments (``assessments.json``): one published ``mgi_local``
assessment for each of three cities, through the workflow an editor and a validator follow,
with evidence linked to the city's demo figure, and a demo challenge naming one of Lisbon's
gaps. Illustrative answers, each saying so in its comment; not the cities' assessments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.assessments.schemas import (
    AnswerState,
    AnswerWrite,
    AssessmentCreate,
    AssessmentStatus,
    AssessmentTransition,
    Evidence,
    EvidenceKind,
)
from services.profiles_api.assessments.service import create_assessment, transition, write_answer
from services.profiles_api.challenges.repository import ChallengeRepository
from services.profiles_api.challenges.schemas import (
    AssessmentIndicatorRef,
    ChallengeCreate,
    NeedType,
    Priority,
)
from services.profiles_api.challenges.service import create_challenge
from services.profiles_api.observations.models import Observation
from shared.auth import Principal, Role
from shared.concurrency import etag
from shared.contracts.themes import Theme

DEMO_ASSESSMENTS = Path(__file__).with_name("assessments.json")
#: Who validates the demo assessments: never the one who submitted them (four eyes).
SEED_VALIDATOR = Principal(subject="mc2cm-seed-validator", role=Role.admin)
_REVIEW = (
    AssessmentStatus.submitted,
    AssessmentStatus.validated,
    AssessmentStatus.published,
)


async def _evidence(session: AsyncSession, city: str, indicator: str) -> list[Evidence]:
    """The city's first figure of ``indicator`` and its source."""
    row = (
        await session.execute(
            select(Observation.id, Observation.source_id)
            .where(Observation.city_code == city, Observation.indicator_code == indicator)
            .order_by(Observation.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return []
    return [
        Evidence(kind=EvidenceKind.observation, ref=str(row.id)),
        Evidence(kind=EvidenceKind.source, ref=str(row.source_id)),
    ]


async def seed_assessments(
    session: AsyncSession, principal: Principal, mark: dict[str, str]
) -> int:
    """Publish the demo assessment of each city that has none of its framework; how many
    were published. ``mark`` opens the demo challenge's description ("[Demo]")."""
    demo: dict[str, Any] = json.loads(DEMO_ASSESSMENTS.read_text(encoding="utf-8"))
    comment = demo["comment"]["en"]
    repository = AssessmentRepository.from_session(session)
    published = 0
    for entry in demo["assessments"]:
        city = entry["city"]
        existing = await repository.for_city(city, published_only=False)
        if any(framework.code == entry["framework"] for _, framework in existing):
            continue
        assessment, _ = await create_assessment(
            session,
            principal,
            city,
            AssessmentCreate(
                framework=entry["framework"],
                version=entry["version"],
                reference_date=entry["reference_date"],
            ),
        )
        evidence = await _evidence(session, city, entry["evidence_indicator"])
        for question, choice in entry["answers"].items():
            state = AnswerState(choice) if choice in AnswerState.__members__ else AnswerState.option
            answer = AnswerWrite(
                state=state,
                option=choice if state is AnswerState.option else None,
                comment=comment,
                evidence=evidence if state is AnswerState.option else [],
            )
            await write_answer(
                session,
                principal,
                city,
                assessment.id,
                question,
                answer,
                if_match=None,
                if_none_match="*",
            )
        # The same object the answers raised the version of (the session's identity map).
        current = assessment
        for status in _REVIEW:
            who = SEED_VALIDATOR if status is AssessmentStatus.validated else principal
            current, _ = await transition(
                session,
                who,
                city,
                assessment.id,
                AssessmentTransition(status=status),
                if_match=etag(current.version),
            )
        published += 1
        if (need := entry.get("challenge")) is not None:
            await _gap_challenge(session, principal, city, entry["framework"], need, mark)
    return published


async def _gap_challenge(
    session: AsyncSession,
    principal: Principal,
    city: str,
    framework: str,
    need: dict[str, Any],
    mark: dict[str, str],
) -> None:
    """The demo challenge naming a gap, unless the city has one naming that framework."""
    if await ChallengeRepository.from_session(session).naming_framework(city, framework):
        return
    await create_challenge(
        session,
        principal,
        city,
        ChallengeCreate(
            theme=Theme(need["theme"]),
            need_type=NeedType(need["need_type"]),
            priority=Priority(need["priority"]),
            description={
                language: f"{mark[language]} {text}"
                for language, text in need["description"].items()
            },
            assessment_indicators=[
                AssessmentIndicatorRef(framework=framework, indicator=need["indicator"])
            ],
        ),
    )
