"""The profiles API: ``create_app(settings)`` builds it; nothing happens at import time."""

from __future__ import annotations

from fastapi import FastAPI

from services.profiles_api import SERVICE
from services.profiles_api.aggregates.router import router as aggregates
from services.profiles_api.assessment_compare.router import router as assessment_compare
from services.profiles_api.assessments.router import router as assessments
from services.profiles_api.challenges.router import router as challenges
from services.profiles_api.cities.router import router as cities
from services.profiles_api.compare.router import router as compare
from services.profiles_api.db import audit_log_table, idempotency_keys, outbox
from services.profiles_api.editions.router import router as editions
from services.profiles_api.frameworks.router import router as frameworks
from services.profiles_api.imports.router import router as imports
from services.profiles_api.indicators.router import router as indicators
from services.profiles_api.observations.router import router as observations
from services.profiles_api.pages.router import router as pages
from services.profiles_api.profiles.router import router as profiles
from services.profiles_api.reports.router import router as reports
from services.profiles_api.sdmx.router import router as sdmx
from services.profiles_api.sections.router import router as sections
from services.profiles_api.sources.router import router as sources
from services.profiles_api.themes.router import router as themes
from shared.app import create_service_app
from shared.audit_router import audit_router
from shared.settings import Settings

VERSION = "1.0.0"

TAGS = [
    {"name": "cities", "description": "The network's cities, their membership and focal points."},
    {"name": "themes", "description": "The theme taxonomy shared with the dialogue."},
    {"name": "indicators", "description": "The indicator catalogue."},
    {"name": "sources", "description": "Where figures come from and how reliable they are."},
    {"name": "observations", "description": "Figures, their sources and their history."},
    {
        "name": "imports",
        "description": "Imports of figures: CSV in the tidy format, or SDMX-CSV 2.0.",
    },
    {
        "name": "sdmx",
        "description": "The SDMX structure (MC2CM:CITY_MIGRATION) of the figures that "
        "GET /v1/observations exports and POST /v1/imports reads as SDMX-CSV 2.0.",
    },
    {"name": "sections", "description": "Narrative chapters of a profile and their workflow."},
    {"name": "challenges", "description": "What each city says it needs."},
    {"name": "profiles", "description": "A city's assembled migration profile."},
    {"name": "compare", "description": "Cities side by side, with comparability warnings."},
    {
        "name": "editions",
        "description": "A city's profile frozen as published: citable, immutable editions.",
    },
    {
        "name": "assessments",
        "description": "Governance assessments: versioned frameworks (areas, indicators, "
        "questions, options), a city's answers with evidence, the four-eyes review and the "
        "scores computed from the answers.",
    },
    {
        "name": "reports",
        "description": "A city's profile as a report (HTML in en, fr and ar) and its charts "
        "as Vega-Lite specs.",
    },
    {
        "name": "aggregates",
        "description": "Computed by the worker from the published figures: network and "
        "regional aggregates, derived indicators' values and the data-coverage matrix.",
    },
    {
        "name": "pages",
        "description": "Public HTML pages (en, fr, ar; no JavaScript needed): the network's "
        "cities, each city's profile and editions, cities compared.",
    },
    {"name": "audit", "description": "Every change, who made it and when (admins)."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def create_app(settings: Settings) -> FastAPI:
    """The profiles API for ``settings``."""
    return create_service_app(
        settings,
        service=SERVICE,
        title="MC2CM profiles API",
        description="City migration profiles of the MC2CM network: figures with their sources, "
        "narrative chapters, challenges, and comparisons between cities.",
        version=VERSION,
        openapi_tags=TAGS,
        idempotency_keys=idempotency_keys,
        outbox=outbox,
        routers=[
            cities,
            themes,
            indicators,
            sources,
            observations,
            imports,
            sdmx,
            sections,
            challenges,
            profiles,
            compare,
            editions,
            frameworks,
            assessments,
            assessment_compare,
            reports,
            aggregates,
            pages,
            audit_router(audit_log_table),
        ],
        upload_routers=[imports],
        batch_operations=["upsert_observations"],
    )
