"""The e-mail templates: every kind in every language, with the same fields and words."""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.dialogue_api.notifications.templates import (
    LANGUAGES,
    Kind,
    ar,
    en,
    fr,
    mail_date,
    mail_language,
    mail_number,
    mail_span,
)
from services.dialogue_api.notifications.templates import render as render_mail

MODULES = {"en": en, "fr": fr, "ar": ar}


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_writes_every_kind_with_the_english_fields(language: str) -> None:
    module = MODULES[language]
    assert set(module.TEMPLATES) == {kind.value for kind in Kind}, language
    assert set(module.WORDS) == set(en.WORDS), language
    for kind in Kind:
        english = {part for text in en.TEMPLATES[kind] for part in fields_of(text)}
        ours = {part for text in module.TEMPLATES[kind] for part in fields_of(text)}
        assert ours <= english, (language, kind, ours - english)
        mail = render_mail(kind, language, **{name: f"<{name}>" for name in english | {"name"}})
        assert mail.language == language
        assert "\n" not in mail.subject and mail.subject.strip() == mail.subject
        assert mail.text.endswith(module.SIGNATURE)


@pytest.mark.parametrize(
    ("languages", "expected"),
    [
        (["pt", "fr", "en"], "fr"),
        (["fr-CA"], "fr"),
        (["AR"], "ar"),
        (["de", "it"], "en"),
        ([], "en"),
    ],
)
def test_a_person_gets_the_first_of_their_languages_that_has_templates(
    languages: list[str], expected: str
) -> None:
    assert mail_language(languages) == expected


@pytest.mark.parametrize(
    ("language", "day", "span", "number"),
    [
        # Babel writes a narrow no-break space before AM/PM and in French thousands.
        ("en", "June 30, 2027", "March 10, 2027, 10:00\u202fAM \u2013 1:30\u202fPM", "12,345.5"),
        ("fr", "30 juin 2027", "10 mars 2027, 10:00 \u2013 13:30", "12\u202f345,5"),
        ("ar", "30 يونيو 2027", "10 مارس 2027، 10:00 ص \u2013 1:30 م", "12,345.5"),
    ],
)
def test_mail_dates_times_and_numbers_are_written_as_the_language_writes_them(
    language: str, day: str, span: str, number: str
) -> None:
    lisbon = ZoneInfo("Europe/Lisbon")
    starts = datetime(2027, 3, 10, 10, 0, tzinfo=lisbon)

    assert mail_date(date(2027, 6, 30), language) == day
    assert mail_span(starts, starts + timedelta(hours=3, minutes=30), language) == span
    assert mail_number(12345.5, language) == number
    # An event over several days names the end's date too.
    two_days = mail_span(starts, starts + timedelta(days=1), language)
    assert two_days.count("2027") == 2, two_days
