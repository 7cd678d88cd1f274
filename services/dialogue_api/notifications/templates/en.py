"""E-mails in English (the fallback)."""

from __future__ import annotations

SIGNATURE = (
    "-- \nMC2CM, the Mediterranean City-to-City Migration network.\n"
    "You receive this message because of your part in the network's dialogue."
)

WORDS = {
    "planned": "planned",
    "confirmed": "confirmed",
    "held": "held",
    "cancelled": "cancelled",
    "proposed": "proposed",
    "adopted": "adopted",
    "in_progress": "in progress",
    "implemented": "implemented",
    "dropped": "dropped",
    "done": "done",
    "local": "local",
    "national": "national",
    "international": "international",
    "offer": "offer",
    "request": "request",
    "nowhere": "to be announced",
    "online": "online",
    "none": "none",
    "nobody": "no contact named yet",
}

_EVENT = "When: {when}\nWhere: {where}"

TEMPLATES = {
    "invitation": (
        "Invitation: {event}",
        "Dear {name},\n\nYou are invited to {event}.\n\n" + _EVENT + "\n\n"
        "The calendar entry attached adds it to your calendar. Your city's focal point or "
        "the organisers will register you when you accept.",
    ),
    "registered": (
        "Registration confirmed: {event}",
        "Dear {name},\n\nYour place at {event} is confirmed.\n\n" + _EVENT + "\n\n"
        "The calendar entry attached adds it to your calendar.",
    ),
    "waitlisted": (
        "On the waiting list: {event}",
        "Dear {name},\n\n{event} is full: you are on its waiting list. You will receive an "
        "e-mail as soon as a place is yours.\n\n" + _EVENT,
    ),
    "promoted": (
        "A place is yours: {event}",
        "Dear {name},\n\nA place at {event} has freed up and is now yours: you moved from "
        "the waiting list to the participants.\n\n" + _EVENT + "\n\n"
        "The calendar entry attached adds it to your calendar.",
    ),
    "declined": (
        "Declined: {event}",
        "Dear {name},\n\nWe have recorded that you will not take part in {event}.\n\n"
        "If the calendar held it, the entry attached removes it.",
    ),
    "cancelled": (
        "Registration cancelled: {event}",
        "Dear {name},\n\nYour registration for {event} is cancelled.\n\n"
        "If the calendar held it, the entry attached removes it.",
    ),
    "event_changed": (
        "Changed: {event}",
        "Dear {name},\n\nThe details of {event} have changed. It is now {status}.\n\n"
        + _EVENT
        + "\n\nThe calendar entry attached updates your calendar.",
    ),
    "event_cancelled": (
        "Cancelled: {event}",
        "Dear {name},\n\n{event} ({when}) is cancelled.\n\n"
        "The calendar entry attached removes it from your calendar.",
    ),
    "event_in_7_days": (
        "In a week: {event}",
        "Dear {name},\n\nA reminder: {event} is a week away.\n\n" + _EVENT,
    ),
    "event_tomorrow": (
        "Tomorrow: {event}",
        "Dear {name},\n\nA reminder: {event} starts tomorrow.\n\n" + _EVENT,
    ),
    "recommendation_new": (
        "Recommendation to {cities}: {theme}",
        "Dear {name},\n\n{event} recommends to {cities} ({theme}, {level} level):\n\n"
        "{text}\n\nIts status: {status}.",
    ),
    "recommendation_status": (
        "Recommendation {status}: {theme}",
        "Dear {name},\n\nThe recommendation of {event} to {cities} ({theme}) is now "
        "{status} (it was {previous}).\n\n{text}",
    ),
    "action_changed": (
        "Action of {city}: {action}",
        "Dear {name},\n\nAn action you are responsible for:\n\n{action}\n\n"
        "City: {city}\nStatus: {status}\nDue: {due_on}",
    ),
    "action_due_in_7_days": (
        "Due in a week: {action}",
        "Dear {name},\n\nA reminder: this action of {city} you are responsible for is due on "
        "{due_on}, in a week.\n\n{action}\n\nStatus: {status}",
    ),
    "action_due_today": (
        "Due today: {action}",
        "Dear {name},\n\nA reminder: this action of {city} you are responsible for is due "
        "today, {due_on}.\n\n{action}\n\nStatus: {status}",
    ),
    "exchange_matched": (
        "Exchange matched: {theme}",
        "Dear {name},\n\nThe {kind} of {city} on {theme} that you are the contact for was "
        "matched with the {other_kind} of {other_city}.\n\n"
        "Yours: {title}\nTheirs: {other_title}\nTheir contact: {other_contact}",
    ),
    "edition_published": (
        "Migration profile of {city} published: edition {edition}",
        "Dear {name},\n\nThe City Migration Profile of {city} was published on {published_on} "
        "as edition {edition}. The edition is frozen as published and can be cited by its id.\n\n"
        "Edition: {edition}\nContent hash (SHA-256): {content_hash}\n"
        "In the profiles API: {path}",
    ),
    "assessment_submitted": (
        "Assessment of {city} submitted: {framework}",
        "Dear {name},\n\nThe assessment of {city} against {framework} (version {version}), "
        "describing its policies as of {reference_date}, was submitted for review. Someone "
        "other than who submitted it validates it before it is published.",
    ),
    "assessment_validated": (
        "Assessment of {city} validated: {framework}",
        "Dear {name},\n\nThe assessment of {city} against {framework} (version {version}), "
        "describing its policies as of {reference_date}, was validated. It can now be "
        "published.",
    ),
    "assessment_published": (
        "Assessment of {city} published: {framework}",
        "Dear {name},\n\nThe assessment of {city} against {framework} (version {version}), "
        "describing its policies as of {reference_date}, was published.\n\n"
        "Overall score: {overall}\nIndicators scoring below {threshold}: {gaps}\n"
        "Its gaps and the recommendations that address them: {path}",
    ),
}
