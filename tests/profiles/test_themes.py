"""Themes: the nine shared themes, named in English, French and Arabic."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api

THEMES = [
    "demography",
    "intercultural",
    "health",
    "education",
    "housing",
    "urban_planning",
    "human_rights",
    "co_development",
    "employment",
]


async def themes(api: Api, **kwargs: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/themes", **kwargs)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_anonymous_caller_lists_the_nine_themes(api: Api) -> None:
    codes = [theme["code"] for theme in await themes(api)]
    assert sorted(codes) == sorted(THEMES), codes


async def test_every_theme_is_named_and_described_in_english_french_and_arabic(api: Api) -> None:
    for theme in await themes(api):
        for language in ("en", "fr", "ar"):
            assert theme["names"].get(language, "").strip(), (theme["code"], language)
            assert theme["descriptions"].get(language, "").strip(), (theme["code"], language)
        assert len(set(theme["names"].values())) == 3, theme["names"]


async def test_english_is_the_default_language(api: Api) -> None:
    health = {theme["code"]: theme for theme in await themes(api)}["health"]
    assert (health["name"], health["language"]) == ("Health", "en"), health


@pytest.mark.parametrize(("language", "name"), [("fr", "Santé"), ("ar", "الصحة")])
async def test_accept_language_picks_the_theme_names(api: Api, language: str, name: str) -> None:
    listed = await themes(api, headers={"Accept-Language": language})
    health = {theme["code"]: theme for theme in listed}["health"]
    assert (health["name"], health["language"]) == (name, language), health
    assert health["description"] == health["descriptions"][language], health


async def test_language_without_theme_names_falls_back_to_english(api: Api) -> None:
    listed = await themes(api, headers={"Accept-Language": "it"})
    assert {theme["language"] for theme in listed} == {"en"}, listed
    demography = {theme["code"]: theme for theme in listed}["demography"]
    assert demography["name"] == "Demography", demography


async def test_every_indicator_belongs_to_a_listed_theme(api: Api) -> None:
    codes = {theme["code"] for theme in await themes(api)}
    indicators = (await api.get("/v1/indicators", params={"limit": 1000})).json()["items"]
    outside = {i["code"]: i["theme"] for i in indicators if i["theme"] not in codes}
    assert outside == {}, outside
