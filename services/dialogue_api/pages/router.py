"""The dialogue's public page: ``/events``, the events calendar in HTML (no JavaScript
needed), in ``?lang=`` or else the ``Accept-Language`` language (en, fr, ar), linking to the
JSON and the iCalendar feed it stands beside."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.dialogue_api.pages import service
from services.dialogue_api.pages.labels import DIALOGUE_LABELS
from services.dialogue_api.pages.render import TEMPLATES
from shared.auth import MaybePrincipal
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.pages.layout import Link, Page, PageLangQuery, page_language, page_responses

router = APIRouter(tags=["pages"])


@router.get(
    "/events",
    summary="The events calendar (HTML page)",
    description="A page of the network's events: those not yet over, soonest first, and those "
    f"held in the last {service.RECENT.days} days, by month, with their type, status, host "
    "city, venue and dates in the page's language (times of the place). Anonymous callers see "
    "public events only, as `GET /v1/events`, which it is built from; each event links to its "
    "JSON and iCalendar file, and the page to the iCalendar feed `GET /v1/calendar.ics`.",
    response_class=HTMLResponse,
    responses=page_responses('<!DOCTYPE html><html lang="fr" dir="ltr">…</html>'),
)
async def events_page(
    request: Request,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    lang: PageLangQuery = None,
) -> HTMLResponse:
    now = datetime.now(UTC)
    page = Page.of(
        request, page_language(lang, languages), section="events", labels=[DIALOGUE_LABELS]
    )
    since = (now - service.RECENT).date().isoformat()
    page = page.built_from(Link(page.api("/v1/events", ("from", since)), page.label("events_json")))
    calendar = await service.events_calendar(session, principal, now=now)
    return TEMPLATES.respond(
        "events.html.j2",
        page,
        calendar=calendar,
        days=service.RECENT.days,
        feed=page.api("/v1/calendar.ics"),
    )
