"""Challenges: what a city says it needs, by theme and kind of need, with a priority."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.challenges.models import Challenge
from services.profiles_api.challenges.repository import ChallengeRepository
from services.profiles_api.challenges.schemas import (
    AssessmentIndicatorRef,
    ChallengeCreate,
    ChallengeUpdate,
    NeedType,
    Priority,
)
from services.profiles_api.cities.service import get_city
from services.profiles_api.frameworks.repository import FrameworkRepository
from shared.auth import Principal, ensure_city_editor
from shared.concurrency import check_if_match
from shared.contracts.themes import Theme
from shared.errors import NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


async def list_challenges(
    session: AsyncSession,
    city_code: str,
    page: PageParams,
    *,
    theme: Theme | None = None,
    need_type: NeedType | None = None,
    priority: Priority | None = None,
) -> Sequence[Challenge]:
    """A page of a city's challenges, optionally of one theme, need type or priority."""
    await get_city(session, city_code)
    return await ChallengeRepository.from_session(session).for_city(
        city_code, page, theme=theme, need_type=need_type, priority=priority
    )


async def get_challenge(session: AsyncSession, city_code: str, challenge_id: int) -> Challenge:
    """The challenge ``challenge_id`` of a city; 404 if it belongs to another city."""
    challenge = await ChallengeRepository.from_session(session).in_city(city_code, challenge_id)
    if challenge is None:
        raise NotFound(f"City {city_code} has no challenge {challenge_id}.", id=challenge_id)
    return challenge


async def _check_assessment_indicators(
    session: AsyncSession, refs: list[AssessmentIndicatorRef]
) -> None:
    """Each named indicator is one of some version of the named framework (422 otherwise)."""
    known = await FrameworkRepository.from_session(session).indicator_codes()
    errors = [
        field_error(
            f"assessment_indicators.{index}",
            f"no version of framework {ref.framework!r} has an indicator {ref.indicator!r}",
        )
        for index, ref in enumerate(refs)
        if (ref.framework, ref.indicator) not in known
    ]
    if errors:
        raise ValidationFailed("Unknown assessment indicators.", errors=errors)


async def create_challenge(
    session: AsyncSession, principal: Principal, city_code: str, payload: ChallengeCreate
) -> Challenge:
    """Record a need of the city."""
    await get_city(session, city_code)
    ensure_city_editor(principal, city_code)
    await _check_assessment_indicators(session, payload.assessment_indicators)
    challenge = Challenge(city_code=city_code, **payload.model_dump(mode="json"))
    await ChallengeRepository.from_session(session).add(challenge)
    await session.refresh(challenge)
    return challenge


async def update_challenge(
    session: AsyncSession,
    principal: Principal,
    city_code: str,
    challenge_id: int,
    payload: ChallengeUpdate,
    *,
    if_match: str | None,
) -> Challenge:
    """Change a challenge of the city."""
    challenge = await get_challenge(session, city_code, challenge_id)
    ensure_city_editor(principal, city_code)
    check_if_match(if_match, challenge.version, resource="challenge")
    if payload.assessment_indicators is not None:
        await _check_assessment_indicators(session, payload.assessment_indicators)
    for field, value in payload.model_dump(mode="json", include=payload.model_fields_set).items():
        setattr(challenge, field, value)
    await ChallengeRepository.from_session(session).save_changes(challenge, resource="challenge")
    return challenge


async def delete_challenge(
    session: AsyncSession,
    principal: Principal,
    city_code: str,
    challenge_id: int,
    *,
    if_match: str | None,
) -> None:
    """Remove a challenge of the city."""
    challenge = await get_challenge(session, city_code, challenge_id)
    ensure_city_editor(principal, city_code)
    check_if_match(if_match, challenge.version, resource="challenge", required=False)
    await ChallengeRepository.from_session(session).delete(challenge)
