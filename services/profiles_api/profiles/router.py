from __future__ import annotations

from fastapi import APIRouter, Response

from services.profiles_api.challenges.schemas import ChallengeRead
from services.profiles_api.cities.schemas import CityRead
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import ObsStatus
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
    reader: ReaderDep,
) -> CityProfile:
    profile = await assemble_profile(session, reader, code)
    city = CityRead.of(profile.city, languages, show_contacts=principal is not None)
    response.headers["Content-Language"] = city.language
    return CityProfile(
        city=city,
        figures=[
            LatestFigure(
                indicator=figure.indicator.code,
                name=languages.text(figure.indicator.names) or figure.indicator.code,
                theme=Theme(figure.indicator.theme),
                unit=Unit(figure.indicator.unit),
                population_concept=figure.indicator.population_concept,
                observation_id=figure.observation.id,
                period=figure.observation.period,
                scope=figure.observation.scope,
                value=figure.shown.value,
                value_low=figure.shown.value_low,
                value_high=figure.shown.value_high,
                obs_status=ObsStatus(figure.observation.obs_status),
                status=figure.shown.status,
                note=figure.observation.note,
                source=SourceSummary.of(figure.source),
            )
            for figure in profile.figures
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
