"""Every table of schema ``profiles``, for migrations and checks."""

from services.profiles_api.aggregates.models import (
    Aggregate,
    AggregationRequest,
    AggregationRun,
    Coverage,
    DerivedValue,
)
from services.profiles_api.assessments.models import Answer, Assessment, AssessmentChange, Score
from services.profiles_api.challenges.models import Challenge
from services.profiles_api.cities.models import City
from services.profiles_api.db import Base, outbox
from services.profiles_api.editions.models import Edition
from services.profiles_api.frameworks.models import Framework, FrameworkItem, FrameworkOption
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.models import (
    Observation,
    ObservationChange,
    ObservationsVersion,
)
from services.profiles_api.reports.models import EditionReport
from services.profiles_api.sections.models import Section
from services.profiles_api.sources.models import Source

metadata = Base.metadata

__all__ = [
    "Aggregate",
    "AggregationRequest",
    "AggregationRun",
    "Answer",
    "Assessment",
    "AssessmentChange",
    "Challenge",
    "City",
    "Coverage",
    "DerivedValue",
    "Edition",
    "EditionReport",
    "Framework",
    "FrameworkItem",
    "FrameworkOption",
    "Indicator",
    "Observation",
    "ObservationChange",
    "ObservationsVersion",
    "Score",
    "Section",
    "Source",
    "metadata",
    "outbox",
]
