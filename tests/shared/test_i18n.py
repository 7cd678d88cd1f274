"""Languages (shared/i18n.py): Accept-Language negotiation, English fallback, language maps."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.i18n import LangMap, LangMapEn, Languages, parse_accept_language
from tests.factories import Api, new_city

LISBON = {"en": "Lisbon", "fr": "Lisbonne", "ar": "لشبونة", "pt": "Lisboa"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr", ["fr"]),
        ("fr-CA, fr;q=0.9, en;q=0.8", ["fr-ca", "fr", "en"]),
        ("en;q=0.5, ar", ["ar", "en"]),
        ("de;q=0.3, es;q=0.7, it", ["it", "es", "de"]),
        ("pt, es", ["pt", "es"]),
        ("ar;q=0.8, fr;q=0.8", ["ar", "fr"]),
        ("fr;q=0, en", ["en"]),
        ("*, fr;q=0.5", ["fr"]),
        ("fr;q=high, ar", ["ar"]),
        (" FR ; q=0.4 ,  AR ", ["ar", "fr"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_is_ordered_by_quality_then_position(
    header: str | None, expected: list[str]
) -> None:
    assert parse_accept_language(header) == expected


def test_region_falls_back_to_its_language_before_english() -> None:
    languages = Languages.from_header("fr-CA")

    assert languages == ("fr-ca", "fr", "en")
    assert languages.pick(LISBON) == ("Lisbonne", "fr")


def test_english_is_the_fallback_for_an_unavailable_language() -> None:
    assert Languages.from_header("de-AT, de;q=0.9").pick(LISBON) == ("Lisbon", "en")


def test_no_header_means_english() -> None:
    languages = Languages.from_header(None)

    assert languages == ("en",)
    assert languages.pick(LISBON) == ("Lisbon", "en")


def test_a_lower_quality_language_beats_the_english_fallback() -> None:
    assert Languages.from_header("de, ar;q=0.2").pick(LISBON) == ("لشبونة", "ar")


def test_text_without_english_falls_back_to_some_language_rather_than_nothing() -> None:
    text, language = Languages.from_header("de").pick({"pt": "Lisboa", "es": "Lisboa"})

    assert (text, language) == ("Lisboa", "es")


def test_empty_map_gives_no_text() -> None:
    assert Languages.from_header("fr").pick({}) == (None, None)
    assert Languages.from_header("fr").text(None) is None


def test_language_tags_match_whatever_their_case() -> None:
    # Language tags are case-insensitive (RFC 5646 §2.1.1): pt-BR in a map is pt-br asked for.
    names = {"en": "Sao Paulo", "pt-BR": "São Paulo"}

    assert Languages.from_header("pt-BR").pick(names) == ("São Paulo", "pt-BR")
    assert Languages.from_header("PT-br").pick(names) == ("São Paulo", "pt-BR")


LANG_MAP = TypeAdapter(LangMap)
LANG_MAP_EN = TypeAdapter(LangMapEn)


@pytest.mark.parametrize(
    "value",
    [{"en": "Lisbon"}, LISBON, {"pt-BR": "Lisboa", "zh-Hant": "里斯本"}, {"ast": "Lisboa"}, {}],
)
def test_language_map_accepts_language_tags_with_text(value: dict[str, str]) -> None:
    assert LANG_MAP.validate_python(value) == value


@pytest.mark.parametrize("tag", ["EN", "english", "en_US", "", "e", "fr-", "-fr", "fr CA", "1a"])
def test_language_map_refuses_what_is_not_a_language_tag(tag: str) -> None:
    with pytest.raises(ValidationError, match="not a language tag"):
        LANG_MAP.validate_python({tag: "Lisbon"})


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_language_map_refuses_empty_text(text: str) -> None:
    with pytest.raises(ValidationError, match="'fr' text is empty"):
        LANG_MAP.validate_python({"en": "Lisbon", "fr": text})


def test_english_is_required_where_it_is_the_fallback() -> None:
    with pytest.raises(ValidationError, match="English"):
        LANG_MAP_EN.validate_python({"fr": "Lisbonne", "pt": "Lisboa"})
    assert LANG_MAP_EN.validate_python({"en": "Lisbon"}) == {"en": "Lisbon"}


async def test_city_names_without_english_are_refused_naming_the_field(api: Api) -> None:
    city = {
        "code": "PTPRT",
        "names": {"pt": "Porto"},
        "country": "PT",
        "region": "europe",
        "timezone": "Europe/Lisbon",
        "membership": {"status": "expected"},
    }

    response = await api.post("/v1/cities", role=Api.ADMIN, json=city)

    assert response.status_code == 422, response.text
    assert [(e["location"], e["field"]) for e in response.json()["errors"]] == [
        ("body", "names")
    ], response.json()


@pytest.mark.parametrize(
    ("header", "name", "language"),
    [
        ("fr-CA", "Lisbonne", "fr"),
        ("ar, fr;q=0.5", "لشبونة", "ar"),
        ("de", "Lisbon", "en"),
        (None, "Lisbon", "en"),
    ],
)
async def test_city_name_follows_accept_language_and_says_which_was_used(
    api: Api, header: str | None, name: str, language: str
) -> None:
    headers = {"Accept-Language": header} if header else {}

    response = await api.get("/v1/cities/PTLIS", headers=headers)

    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["language"]) == (name, language)
    assert response.headers["content-language"] == language, response.headers


@pytest.mark.parametrize("url", ["/v1/cities/PTLIS", "/v1/cities", "/v1/themes"])
async def test_translated_responses_tell_caches_they_vary_by_language(api: Api, url: str) -> None:
    response = await api.get(url, headers={"Accept-Language": "fr"})

    assert response.status_code == 200, response.text
    varies = {v.strip().lower() for v in response.headers.get("vary", "").split(",")}
    assert "accept-language" in varies, response.headers


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("/v1/cities/LBBEY", "fr"),
        ("/v1/indicators/foreign_nationals", "fr"),
        ("/v1/cities/LBBEY/profile", "fr"),
        ("/v1/indicators/reception_places", "fr"),
    ],
)
async def test_single_resources_say_which_language_they_answer_in(
    api: Api, path: str, language: str
) -> None:
    response = await api.get(path, headers={"Accept-Language": "fr, en;q=0.5"})

    assert response.status_code == 200, response.text
    assert response.headers.get("content-language") == language, dict(response.headers)


@pytest.mark.parametrize(
    ("header", "offered", "expected"),
    [
        ("pt", ["en", "pt-BR"], "pt-BR"),
        ("pt", ["en", "pt-PT", "pt-BR"], "pt-BR"),
        ("fr-CA", ["en", "fr"], "fr"),
        ("fr-CA, ar;q=0.9", ["en", "ar", "fr-FR"], "fr-FR"),
        ("fr;q=0.4, ar", ["en", "fr", "ar"], "ar"),
        ("de, fr;q=0.1", ["en", "fr"], "fr"),
        ("de", ["fr", "ar"], None),
        ("PT-br", ["en", "pt-br"], "pt-br"),
    ],
)
def test_negotiation_finds_regional_variants_and_languages_by_quality(
    header: str, offered: list[str], expected: str | None
) -> None:
    # Babel's negotiate_locale (shared.i18n.negotiate), with a bare language finding a region.
    assert Languages.from_header(header).negotiate(offered) == expected, offered


async def test_a_bare_language_is_answered_in_its_regional_variant(api: Api) -> None:
    body = new_city(names={"en": "Athens", "pt-BR": "Atenas", "fr-CA": "Athènes"})
    created = await api.post("/v1/cities", json=body, role=Api.ADMIN)
    assert created.status_code == 201, created.text

    for header, name, language in [
        ("pt", "Atenas", "pt-BR"),
        ("fr, pt;q=0.5", "Athènes", "fr-CA"),
        ("de, pt-PT;q=0.3", "Atenas", "pt-BR"),
    ]:
        response = await api.get("/v1/cities/GRATH", headers={"Accept-Language": header})
        assert (response.json()["name"], response.json()["language"]) == (name, language), header
        assert response.headers["content-language"] == language, header
