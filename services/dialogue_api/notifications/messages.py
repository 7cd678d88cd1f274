"""Rendering one e-mail for one person: their language, the texts in it, the attachment."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.events.models import Event
from services.dialogue_api.notifications.calendar import Method
from services.dialogue_api.notifications.schemas import Channel
from services.dialogue_api.notifications.service import Delivery
from services.dialogue_api.notifications.templates import (
    Kind,
    mail_language,
    mail_span,
    render,
    word,
)
from services.dialogue_api.people.models import Person
from shared.contracts.themes import THEMES, Theme
from shared.i18n import DEFAULT_LANGUAGE, Languages


def text_in(texts: Mapping[str, str] | None, language: str) -> str:
    """A language map's text in ``language``, else English, else any."""
    return Languages((language, DEFAULT_LANGUAGE)).text(texts) or ""


def theme_name(code: str, language: str) -> str:
    try:
        return text_in(THEMES[Theme(code)].names, language)
    except ValueError:
        return code


def city_name(code: str, cities: Mapping[str, CityRef], language: str) -> str:
    city = cities.get(code)
    return text_in(city.names, language) if city is not None else code


def event_fields(event: Event, language: str) -> dict[str, str]:
    """The event's title, local times, place and status in ``language``."""
    zone = ZoneInfo(event.timezone)
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    places = [
        place
        for place in (
            event.venue,
            event.online_url and f"{word(language, 'online')}: {event.online_url}",
        )
        if place
    ]
    return {
        "event": text_in(event.title, language),
        "when": f"{mail_span(starts, ends, language)} ({event.timezone})",
        "where": " · ".join(places) or word(language, "nowhere"),
        "status": word(language, event.status),
    }


#: The calendar an e-mail attaches, rendered in the e-mail's language: its iTIP method and text.
Attachment = Callable[[str], tuple[Method, str]]


def mail_to(
    person: Person,
    *,
    key: str,
    kind: Kind,
    event_type: str,
    fields: Callable[[str], dict[str, str]],
    outbox_event_id: uuid.UUID | None = None,
    attachment: Attachment | None = None,
) -> Delivery:
    """The e-mail of ``kind`` to ``person`` in their language; ``fields`` and ``attachment``
    are rendered in that language."""
    language = mail_language(person.languages)
    mail = render(kind, language, name=person.name, **fields(language))
    method, calendar = attachment(language) if attachment is not None else (None, None)
    return Delivery(
        delivery_key=key,
        channel=Channel.email,
        recipient=person.email,
        recipient_name=person.name,
        event_type=event_type,
        body=mail.text,
        outbox_event_id=outbox_event_id,
        person_id=person.id,
        language=mail.language,
        subject=mail.subject,
        calendar=calendar,
        calendar_method=method.value if method is not None else None,
    )
