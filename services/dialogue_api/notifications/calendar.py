"""The iCalendar attachment of event e-mails: the event's calendar with an iTIP method.

``REQUEST`` (RFC 5546) adds or updates the event in the reader's calendar (invitations,
confirmations, promotions, changes); ``CANCEL`` removes it (the event cancelled, or the
person no longer going). The organiser is the platform's sender address, the attendee the
reader; ``SEQUENCE`` is the event's version, so calendars apply the newest message.
"""

from __future__ import annotations

import enum
from datetime import datetime
from email.utils import parseaddr

from icalendar import Calendar, vCalAddress

from services.dialogue_api.calendars.service import single_event_calendar
from services.dialogue_api.events.models import Event
from services.dialogue_api.people.models import Person
from shared.i18n import DEFAULT_LANGUAGE, Languages


class Method(enum.StrEnum):
    request = "REQUEST"
    cancel = "CANCEL"


def _address(email: str, name: str, **parameters: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = name
    for key, value in parameters.items():
        address.params[key] = value
    return address


class Invitations:
    """One event's calendar as iTIP messages to its people.

    The calendar is built once per language and method (its timezone rules are what cost),
    then each reader is set as its attendee and it is written out.
    """

    def __init__(self, event: Event, *, sender: str, now: datetime) -> None:
        self.event = event
        self.sender = sender
        self.now = now
        self._calendars: dict[tuple[str, Method], Calendar] = {}

    def _calendar(self, language: str, method: Method) -> Calendar:
        calendar = self._calendars.get((language, method))
        if calendar is not None:
            return calendar
        languages = Languages((language, DEFAULT_LANGUAGE))
        calendar = single_event_calendar(self.event, languages, now=self.now)
        calendar.add("method", method.value)
        sender_name, sender_address = parseaddr(self.sender)
        for component in calendar.walk("VEVENT"):
            component.add("organizer", _address(sender_address, sender_name or "MC2CM"))
            if method is Method.cancel:
                component.pop("STATUS", None)
                component.add("status", "CANCELLED")
        self._calendars[(language, method)] = calendar
        return calendar

    def to(self, person: Person, *, method: Method, language: str, accepted: bool = True) -> str:
        """The message to ``person`` in ``language``; they have ``accepted`` (registered) or
        are still to answer (invited)."""
        calendar = self._calendar(language, method)
        attendee = {"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"}
        if method is Method.request:
            attendee["PARTSTAT"] = "ACCEPTED" if accepted else "NEEDS-ACTION"
        for component in calendar.walk("VEVENT"):
            component.pop("ATTENDEE", None)
            component.add("attendee", _address(person.email, person.name, **attendee))
        ics: bytes = calendar.to_ical()
        return ics.decode()
