"""The words of the pages' shared layout, in the languages the pages are written in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: The languages the pages' own words exist in; any other reader gets English.
PAGE_LANGUAGES: Final = ("en", "fr", "ar")
#: Written right to left.
RTL_LANGUAGES: Final = frozenset({"ar"})
#: Each language's name in itself, for the language switch.
LANGUAGE_NAMES: Final = {"en": "English", "fr": "Français", "ar": "العربية"}

Labels = Mapping[str, Mapping[str, str]]

LAYOUT_LABELS: Final[Labels] = {
    "network": {
        "en": "Mediterranean City-to-City Migration (MC2CM)",
        "fr": "Migration de ville à ville en Méditerranée (MC2CM)",
        "ar": "الهجرة من مدينة إلى مدينة في المتوسط (MC2CM)",
    },
    "skip": {"en": "Skip to content", "fr": "Aller au contenu", "ar": "انتقل إلى المحتوى"},
    "site_nav": {"en": "Site", "fr": "Site", "ar": "الموقع"},
    "language_nav": {"en": "Language", "fr": "Langue", "ar": "اللغة"},
    "nav_cities": {"en": "Cities", "fr": "Villes", "ar": "المدن"},
    "nav_compare": {"en": "Compare cities", "fr": "Comparer les villes", "ar": "مقارنة المدن"},
    "nav_events": {"en": "Events", "fr": "Événements", "ar": "الفعاليات"},
    "built_from": {
        "en": "This page is built from these data (JSON)",
        "fr": "Cette page est construite à partir de ces données (JSON)",
        "ar": "هذه الصفحة مبنية على هذه البيانات (JSON)",
    },
    "related_nav": {"en": "Related pages", "fr": "Pages liées", "ar": "صفحات ذات صلة"},
    "colon": {"en": ": ", "fr": "\u202f: ", "ar": ": "},
}


def lookup(tables: tuple[Labels, ...], key: str, language: str, **values: object) -> str:
    """The word ``key`` in ``language`` (English if it has none) from the first table that
    has it, filled in; a missing key is a programming error (``KeyError``)."""
    for table in tables:
        texts = table.get(key)
        if texts is not None:
            text = texts.get(language) or texts["en"]
            return text.format(**values) if values else text
    raise KeyError(key)
