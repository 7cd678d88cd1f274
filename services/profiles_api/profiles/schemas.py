from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from services.profiles_api.challenges.schemas import ChallengeRead
from services.profiles_api.cities.schemas import CityRead
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.fields import ObsStatus, ValueStatus
from services.profiles_api.observations.schemas import SourceSummary, StatusField
from services.profiles_api.sections.schemas import SectionRead
from shared.contracts.themes import Theme


class LatestFigure(BaseModel):
    """The preferred latest total of one indicator for the city."""

    indicator: str
    name: str
    theme: Theme
    unit: Unit
    population_concept: str | None
    observation_id: int
    period: str
    scope: str
    value: float | None
    value_low: float | None
    value_high: float | None
    obs_status: ObsStatus
    status: ValueStatus = StatusField
    note: str | None
    source: SourceSummary


class ThemeCoverage(BaseModel):
    theme: Theme
    name: str
    indicators: int = Field(description="Indicators of the theme in the catalogue.")
    with_data: int = Field(description="Of those, how many the city has a value for.")
    recent: int = Field(description="How many it has a value for in the last 5 years.")
    latest_period_end: date | None


class CityProfile(BaseModel):
    city: CityRead
    figures: list[LatestFigure]
    sections: list[SectionRead] = Field(description="Published sections.")
    challenges: list[ChallengeRead]
    coverage: list[ThemeCoverage]
    generated_at: datetime
