"""The e-mail templates: every kind in every language, with the same fields and words."""

from __future__ import annotations

import string

import pytest

from services.dialogue_api.notifications.templates import LANGUAGES, Kind, ar, en, fr, mail_language
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
