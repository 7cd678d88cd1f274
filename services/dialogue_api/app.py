"""The dialogue API: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

from fastapi import FastAPI

from services.dialogue_api import SERVICE
from services.dialogue_api.actions.router import router as actions
from services.dialogue_api.agenda.router import router as agenda
from services.dialogue_api.assessments.router import router as assessments
from services.dialogue_api.calendars.router import router as calendars
from services.dialogue_api.cities.router import router as cities
from services.dialogue_api.db import audit_log_table, idempotency_keys, outbox
from services.dialogue_api.events.router import router as events
from services.dialogue_api.exchanges.router import router as exchanges
from services.dialogue_api.indicators.dependencies import profiles_lifespan
from services.dialogue_api.notifications.router import router as notifications
from services.dialogue_api.outcomes.router import router as outcomes
from services.dialogue_api.pages.router import router as pages
from services.dialogue_api.people.router import router as people
from services.dialogue_api.recommendations.router import router as recommendations
from services.dialogue_api.registrations.router import router as registrations
from services.dialogue_api.webhooks.router import router as webhooks
from services.dialogue_api.webhooks.schemas import WebhookEventType
from shared.app import create_service_app
from shared.audit_router import audit_router
from shared.settings import Settings

VERSION = "1.0.0"

TAGS = [
    {"name": "events", "description": "Missions, meetings, conferences and workshops."},
    {"name": "agenda", "description": "The programme of an event, room by room."},
    {"name": "people", "description": "Participants, with their consent to be listed."},
    {"name": "registrations", "description": "Invitations, places, waitlists and attendance."},
    {"name": "outcomes", "description": "Minutes and documents an event left behind."},
    {"name": "recommendations", "description": "What events recommend, and the evidence."},
    {
        "name": "assessments",
        "description": "Cities' published governance assessments (from profiles): the gaps "
        "they show and the recommendations that address them.",
    },
    {"name": "actions", "description": "Cities' follow-up commitments and their progress."},
    {"name": "exchanges", "description": "Expertise cities offer and request, and matches."},
    {"name": "calendars", "description": "Events as iCalendar files and feeds."},
    {"name": "cities", "description": "The network's cities as the dialogue knows them."},
    {"name": "webhooks", "description": "Partner systems subscribed to events, signed."},
    {"name": "notifications", "description": "The log of e-mails and webhooks delivered."},
    {
        "name": "pages",
        "description": "Public HTML pages (en, fr, ar; no JavaScript needed): the events calendar.",
    },
    {"name": "audit", "description": "Every change, who made it and when (admins)."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: Settings) -> FastAPI:
    """The dialogue API for ``settings``."""
    return create_service_app(
        settings,
        service=SERVICE,
        title="MC2CM dialogue API",
        description="The dialogue of the MC2CM network: its events and their participants, "
        "the recommendations they make, the cities' follow-up, and exchanges of expertise.",
        version=VERSION,
        openapi_tags=TAGS,
        idempotency_keys=idempotency_keys,
        outbox=outbox,
        webhook_event_types=[event_type.value for event_type in WebhookEventType],
        # The client of the profiles API the evidence's figures are read with.
        lifespan=profiles_lifespan(settings),
        routers=[
            events,
            agenda,
            people,
            registrations,
            outcomes,
            recommendations,
            assessments,
            actions,
            exchanges,
            calendars,
            cities,
            webhooks,
            notifications,
            pages,
            audit_router(audit_log_table),
        ],
    )
