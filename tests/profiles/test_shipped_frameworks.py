"""The three shipped framework versions: valid documents, with the structure each models.

Each is MC2CM's own wording on the structure and scoring rules of a public instrument (MIPEX
2020, the Council of Europe's ICC Index, IOM's Local MGI), says so, and credits the holder of
the original's rights. Pure unit tests: the YAML files and the schema, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.profiles_api.frameworks.document import FrameworkDocument, check
from services.profiles_api.frameworks.service import SHIPPED, shipped_documents

FILES = sorted(SHIPPED.glob("*.yaml"))
EXPECTED = {"mipex_city-1.0.yaml", "icc_city-1.0.yaml", "mgi_local-1.0.yaml"}
#: The rights holders each file's licence note credits.
CREDITS = {
    "mipex_city": ["Migration Policy Group", "MPG", "CIDOB"],
    "icc_city": ["Council of Europe"],
    "mgi_local": ["International Organization for Migration", "IOM"],
}
ARABIC = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"[A-Za-z]")


def load(name: str) -> FrameworkDocument:
    data = yaml.safe_load((SHIPPED / name).read_text(encoding="utf-8"))
    return FrameworkDocument.model_validate(data)


def text_maps(document: FrameworkDocument) -> Iterator[dict[str, str]]:
    """Every title and guidance of the document, the framework's own included."""
    yield document.titles
    for area in document.areas:
        yield area.titles
        for indicator in area.indicators:
            yield indicator.titles
            for question in indicator.questions:
                yield question.titles
                if question.guidance is not None:
                    yield question.guidance
                for option in question.options:
                    yield option.titles


def option_values(document: FrameworkDocument) -> set[float]:
    return {option.value for _, _, question in document.questions() for option in question.options}


def rules(document: FrameworkDocument) -> list[Any]:
    scoring = document.scoring
    return [scoring.indicator, scoring.area, scoring.overall]


def test_the_three_frameworks_ship() -> None:
    assert EXPECTED.issubset(path.name for path in FILES)
    codes = {(document.code, document.version) for document in shipped_documents()}
    assert {("mipex_city", "1.0"), ("icc_city", "1.0"), ("mgi_local", "1.0")}.issubset(codes)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_a_shipped_file_is_a_valid_document_named_by_its_code_and_version(path: Path) -> None:
    document = load(path.name)
    assert check(document) == []
    assert path.name == f"{document.code}-{document.version}.yaml"
    assert document.evidence_required is True
    assert all(rule.min_answered == 0.5 for rule in rules(document))


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_text_is_in_english_french_and_arabic(path: Path) -> None:
    for titles in text_maps(load(path.name)):
        assert {"en", "fr", "ar"} <= titles.keys(), titles
        assert LATIN.search(titles["en"]) and LATIN.search(titles["fr"]), titles
        assert ARABIC.search(titles["ar"]), titles


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_file_says_it_is_not_the_original_and_credits_its_rights_holders(name: str) -> None:
    document = load(name)
    assert "not the original" in document.model.lower()
    assert "not the original" in document.licence.lower()
    assert all(holder in document.licence for holder in CREDITS[document.code])
    header = (SHIPPED / name).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("#")


def test_mipex_city_has_mipex_areas_and_a_mean_of_means() -> None:
    document = load("mipex_city-1.0.yaml")
    assert [area.code for area in document.areas] == [
        "labour_market_mobility",
        "family_reunification",
        "education",
        "political_participation",
        "permanent_residence",
        "access_to_nationality",
        "anti_discrimination",
        "health",
    ]
    assert option_values(document) == {0, 50, 100}
    assert all(rule.aggregation == "arithmetic" for rule in rules(document))
    assert document.rankable is True
    for area in document.areas:
        assert 2 <= len(area.indicators) <= 3, area.code
        assert all(1 <= len(indicator.questions) <= 2 for indicator in area.indicators)


def test_icc_city_has_14_areas_weighted_with_equal_weights() -> None:
    document = load("icc_city-1.0.yaml")
    assert len(document.areas) == 14
    assert all(rule.aggregation == "weighted" for rule in rules(document))
    items: list[Any] = list(document.areas)
    for area in document.areas:
        items += area.indicators
        for indicator in area.indicators:
            items += indicator.questions
    assert {item.weight for item in items} == {1}
    assert document.rankable is True
    assert "not public" in document.licence and "not public" in document.model
    assert option_values(document) == {0, 50, 100}
    for area in document.areas:
        assert 1 <= len(area.indicators) <= 2, area.code
        assert all(1 <= len(indicator.questions) <= 2 for indicator in area.indicators)


def test_mgi_local_is_a_profile_of_absent_partial_complete_answers() -> None:
    document = load("mgi_local-1.0.yaml")
    assert [area.code for area in document.areas] == [
        "migrants_rights",
        "whole_of_government",
        "partnerships",
        "socioeconomic_wellbeing",
        "mobility_dimension_of_crises",
        "safe_orderly_regular_migration",
    ]
    assert document.rankable is False
    assert all(rule.aggregation == "arithmetic" for rule in rules(document))
    for area in document.areas:
        assert len(area.indicators) == 2, area.code
        assert all(len(indicator.questions) == 2 for indicator in area.indicators)
    for _, _, question in document.questions():
        answers = [(option.code, option.value) for option in question.options]
        assert answers == [("absent", 0), ("partial", 50), ("complete", 100)], question.code
