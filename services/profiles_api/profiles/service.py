"""A city's migration profile, assembled: figures, narrative, needs and data coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.challenges.models import Challenge
from services.profiles_api.challenges.repository import ChallengeRepository
from services.profiles_api.cities.models import City
from services.profiles_api.cities.service import get_city
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.fields import ShownValue
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.repository import latest_totals
from services.profiles_api.observations.suppression import Suppression
from services.profiles_api.profiles.repository import CoverageRow, theme_coverage
from services.profiles_api.sections.models import Section
from services.profiles_api.sections.repository import SectionRepository
from services.profiles_api.sources.models import Source


@dataclass(frozen=True)
class ProfileFigure:
    """The latest total of one indicator, and what the reader sees of its value."""

    observation: Observation
    source: Source
    indicator: Indicator
    shown: ShownValue


@dataclass
class AssembledProfile:
    city: City
    figures: list[ProfileFigure]
    sections: list[Section]
    challenges: list[Challenge]
    coverage: list[CoverageRow]
    generated_at: datetime


async def assemble_profile(session: AsyncSession, reader: Reader, code: str) -> AssembledProfile:
    """Everything published about a city, in one read, as ``reader`` may see it."""
    city = await get_city(session, code)
    now = datetime.now(UTC)
    indicators = await IndicatorRepository.from_session(session).all()
    totals = await latest_totals(session, cities=[code])
    # Figures are totals, which are never suppressed; the rule still decides, in one place.
    suppression = await Suppression.load_for_observations(session, reader, (o for o, _ in totals))
    figures = [
        ProfileFigure(
            observation,
            source,
            indicators[observation.indicator_code],
            suppression.shown(observation),
        )
        for observation, source in totals
    ]
    figures.sort(key=lambda figure: (figure.indicator.theme, figure.indicator.code))
    return AssembledProfile(
        city=city,
        figures=figures,
        sections=list(
            await SectionRepository.from_session(session).for_city(code, published_only=True)
        ),
        challenges=list(await ChallengeRepository.from_session(session).for_city(code)),
        coverage=await theme_coverage(session, code, now.date()),
        generated_at=now,
    )
