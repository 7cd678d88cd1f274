"""The e-mails' texts, one module per language: ``en`` (the fallback), ``fr`` and ``ar``.

Each module maps every ``Kind`` to a subject and a body (``str.format`` fields named as in
the English one) and translates the status words the bodies name. A person gets the first of
their ``languages`` that has templates, else English.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

from services.dialogue_api.notifications.templates import ar, en, fr

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
    else English."""
    for tag in languages:
        for candidate in (tag.lower(), tag.split("-")[0].lower()):
            if candidate in _MODULES:
                return candidate
    return DEFAULT_LANGUAGE


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
