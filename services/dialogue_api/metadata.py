"""Every table of schema ``dialogue``, for migrations and checks."""

from services.dialogue_api.actions.models import Action, ProgressUpdate
from services.dialogue_api.agenda.models import AgendaItem, AgendaSpeaker
from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.db import Base, outbox
from services.dialogue_api.events.models import Event
from services.dialogue_api.exchanges.models import Exchange, ExchangeMatch
from services.dialogue_api.indicators.models import IndicatorRef
from services.dialogue_api.notifications.models import Notification
from services.dialogue_api.outcomes.models import Outcome
from services.dialogue_api.people.models import Person
from services.dialogue_api.recommendations.models import (
    Evidence,
    Recommendation,
    RecommendationStatusChange,
)
from services.dialogue_api.registrations.models import Registration
from services.dialogue_api.webhooks.models import WebhookSubscription

metadata = Base.metadata

__all__ = [
    "Action",
    "AgendaItem",
    "AgendaSpeaker",
    "AssessmentIndicatorRef",
    "AssessmentRef",
    "CityRef",
    "Event",
    "Evidence",
    "Exchange",
    "ExchangeMatch",
    "IndicatorRef",
    "Notification",
    "Outcome",
    "Person",
    "ProgressUpdate",
    "Recommendation",
    "RecommendationStatusChange",
    "Registration",
    "WebhookSubscription",
    "metadata",
    "outbox",
]
