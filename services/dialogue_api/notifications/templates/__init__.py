"""The e-mails' texts, one module per language: ``en`` (the fallback), ``fr`` and ``ar``.

Each module maps every ``Kind`` to a subject and a body (``str.format`` fields named as in
the English one) and translates the status words the bodies name. A person gets the first of
their ``languages`` that has templates, else English. Dates, times and numbers in the fields are
written as the mail's locale writes them (Babel's CLDR data: ``mail_date``, ``mail_span``,
``mail_number``), not in one format for every language.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType

from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal

from services.dialogue_api.notifications.templates import ar, en, fr
from shared.i18n import negotiate

DEFAULT_LANGUAGE = "en"
#: Longest subject written; longer ones (long titles) are cut with an ellipsis.
SUBJECT_LENGTH = 200


class Kind(enum.StrEnum):
    """What an e-mail tells its reader."""

    invitation = "invitation"
    registered = "registered"
    waitlisted = "waitlisted"
    promoted = "promoted"
    declined = "declined"
    cancelled = "cancelled"
    event_changed = "event_changed"
    event_cancelled = "event_cancelled"
    event_in_7_days = "event_in_7_days"
    event_tomorrow = "event_tomorrow"
    recommendation_new = "recommendation_new"
    recommendation_status = "recommendation_status"
    action_changed = "action_changed"
    action_due_in_7_days = "action_due_in_7_days"
    action_due_today = "action_due_today"
    exchange_matched = "exchange_matched"
    edition_published = "edition_published"
    assessment_submitted = "assessment_submitted"
    assessment_validated = "assessment_validated"
    assessment_published = "assessment_published"


_MODULES: Mapping[str, ModuleType] = {"en": en, "fr": fr, "ar": ar}
#: The languages e-mails are written in.
LANGUAGES = tuple(_MODULES)


@dataclass(frozen=True)
class Mail:
    """An e-mail's text in one language."""

    language: str
    subject: str
    text: str


def mail_language(languages: Sequence[str]) -> str:
    """The first of a person's languages that has templates (``pt-BR`` counts as ``pt``),
    else English (``shared.i18n.negotiate``)."""
    return negotiate(languages, LANGUAGES) or DEFAULT_LANGUAGE


def mail_date(day: date, language: str) -> str:
    """A date as ``language`` writes it in a sentence: ``June 30, 2027``, ``30 juin 2027``."""
    return format_date(day, format="long", locale=language)


def _date_time(moment: datetime, language: str) -> str:
    # The locale's own joining of a date and a time (`{1}, {0}`; Arabic `{1}، {0}`).
    pattern = str(get_datetime_format("long", locale=language)).replace("'", "")
    time = format_time(moment, format="short", locale=language)
    return pattern.replace("{0}", time).replace("{1}", mail_date(moment.date(), language))


def mail_span(starts: datetime, ends: datetime, language: str) -> str:
    """From ``starts`` to ``ends`` (local times, already in the event's zone) as ``language``
    writes them: the end's date only when it is another day."""
    end = (
        format_time(ends, format="short", locale=language)
        if ends.date() == starts.date()
        else _date_time(ends, language)
    )
    return f"{_date_time(starts, language)} – {end}"  # noqa: RUF001


def mail_number(value: float | Decimal | int, language: str) -> str:
    """A number as ``language`` writes it (``1,234.5``; ``1 234,5``)."""
    return str(format_decimal(value, locale=language))


def word(language: str, code: str) -> str:
    """A status or other code in ``language``'s words (the code itself if untranslated)."""
    words: Mapping[str, str] = _MODULES[language].WORDS
    return words.get(code, code)


def render(kind: Kind, language: str, /, **fields: str) -> Mail:
    """The subject and text of a ``kind`` e-mail in ``language``, with the signature."""
    module = _MODULES[language]
    subject, body = module.TEMPLATES[kind]
    text = body.format(**fields).strip() + "\n\n" + module.SIGNATURE
    # A subject is one line, and a short one, whatever the titles inside it hold.
    line = " ".join(subject.format(**fields).split())
    if len(line) > SUBJECT_LENGTH:
        line = line[: SUBJECT_LENGTH - 1].rstrip() + "…"
    return Mail(language, line, text)
