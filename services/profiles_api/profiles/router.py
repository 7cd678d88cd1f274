from __future__ import annotations

from fastapi import APIRouter, Response

from services.profiles_api.challenges.schemas import ChallengeRead
from services.profiles_api.cities.schemas import CityRead
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.dependencies import SuppressionDep
from services.profiles_api.observations.fields import ObsStatus, ValueStatus
from services.profiles_api.observations.schemas import SourceSummary
from services.profiles_api.profiles.schemas import CityProfile, LatestFigure, ThemeCoverage
from services.profiles_api.profiles.service import assemble_profile
from services.profiles_api.sections.schemas import SectionRead, SectionView
from shared.auth import MaybePrincipal
from shared.contracts.themes import THEMES, Theme
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities/{code}/profile", tags=["profiles"])


@router.get(
    "",
    summary="A city's assembled migration profile",
    description="The city; the latest preferred total of each indicator with its source and "
    "status; published sections; challenges; and data coverage per theme (indicators with "
    "a value, and with one in the last 5 years).",
    response_model=CityProfile,
    responses=problem_responses(404),
)
async def get_profile(
    code: CityCodePath,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
    suppression: SuppressionDep,
) -> CityProfile:
    profile = await assemble_profile(session, code)
    # Figures are totals, which are never suppressed; the rule still decides, in one place.
    hidden = {
        observation.id
        for observation, _, _ in profile.figures
        if suppression.hides_observation(observation)
    }
    city = CityRead.of(profile.city, languages, show_contacts=principal is not None)
    response.headers["Content-Language"] = city.language
    return CityProfile(
        city=city,
        figures=[
            LatestFigure(
                indicator=indicator.code,
                name=languages.text(indicator.names) or indicator.code,
                theme=Theme(indicator.theme),
                unit=Unit(indicator.unit),
                population_concept=indicator.population_concept,
                observation_id=observation.id,
                period=observation.period,
                scope=observation.scope,
                value=None if observation.id in hidden else observation.value,
                value_low=None if observation.id in hidden else observation.value_low,
                value_high=None if observation.id in hidden else observation.value_high,
                obs_status=ObsStatus(observation.obs_status),
                status=ValueStatus.suppressed if observation.id in hidden else ValueStatus.shown,
                note=observation.note,
                source=SourceSummary.of(source),
            )
            for observation, source, indicator in profile.figures
        ],
        sections=[
            SectionRead.of(section, SectionView.published, languages)
            for section in profile.sections
        ],
        challenges=[ChallengeRead.of(challenge, languages) for challenge in profile.challenges],
        coverage=[
            ThemeCoverage(
                theme=Theme(row.theme),
                name=languages.text(THEMES[Theme(row.theme)].names) or row.theme,
                indicators=row.indicators,
                with_data=row.with_data,
                recent=row.recent,
                latest_period_end=row.latest_period_end,
            )
            for row in profile.coverage
        ],
        generated_at=profile.generated_at,
    )
