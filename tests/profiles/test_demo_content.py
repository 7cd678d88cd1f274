"""The demo narrative a newcomer reads after `make dev`: every city's published sections and
challenges in English, French and Arabic, marked as demo content, stating only figures of the
demo data; fictional focal points for token holders; seeding that fills only what is empty."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.cli.seeding import seed_all
from services.dialogue_api.demo.seed import load_story
from services.profiles_api.challenges.repository import ChallengeRepository
from services.profiles_api.challenges.service import delete_challenge
from services.profiles_api.cities.schemas import CityUpdate
from services.profiles_api.cities.service import get_city, update_city
from services.profiles_api.demo.seed import (
    DEMO_MARK,
    FIGURES_FILE,
    INDICATORS_FILE,
    SEED_PRINCIPAL,
    demo_cities,
    demo_narrative,
    seed,
)
from services.profiles_api.sections.schemas import SectionWrite
from services.profiles_api.sections.service import get_section, write_section
from shared.concurrency import etag
from tests.factories import Api

LANGUAGES = ("en", "fr", "ar")
#: How each language's demo note begins (the note opens every section, in italics).
NOTE_OPENING = {
    "en": "*Demo content written for the MC2CM platform's demonstration",
    "fr": "*Contenu de démonstration, rédigé pour présenter la plateforme MC2CM",
    "ar": "*محتوى تجريبي كُتب لعرض منصة MC2CM",
}
CITIES = [city.code for city in demo_cities()]


async def profile(api: Api, code: str, language: str, **kwargs: Any) -> dict[str, Any]:
    response = await api.get(
        f"/v1/cities/{code}/profile", headers={"Accept-Language": language}, **kwargs
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# What the public reads


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", CITIES)
async def test_every_demo_city_profile_has_a_published_narrative_in_the_language(
    api: Api, code: str, language: str
) -> None:
    sections = (await profile(api, code, language))["sections"]

    assert "synopsis" in [s["code"] for s in sections], (code, sections)
    for section in sections:
        assert (section["language"], section["status"]) == (language, "published"), section
        note, _, body = section["narrative"].partition("\n\n")
        assert note.startswith(NOTE_OPENING[language]), (code, section["code"], note)
        assert len(body) > 100, (code, section["code"], language, body)
        assert section["title"], section


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", CITIES)
async def test_every_demo_city_profile_lists_its_challenges_marked_as_demo(
    api: Api, code: str, language: str
) -> None:
    challenges = (await profile(api, code, language))["challenges"]

    assert len(challenges) >= 2, (code, challenges)
    for challenge in challenges:
        assert challenge["language"] == language, challenge
        assert challenge["description"].startswith(DEMO_MARK[language] + " "), challenge
        assert challenge["need_type"] in {"governance", "resources", "capabilities"}, challenge


async def test_beiruts_profile_reads_in_french_with_unhcrs_count_and_its_date(api: Api) -> None:
    body = await profile(api, "LBBEY", "fr")

    synopsis = next(s for s in body["sections"] if s["code"] == "synopsis")
    assert synopsis["title"] == "Synthèse", synopsis
    assert "206\u202f628 réfugiés syriens" in synopsis["narrative"], synopsis["narrative"]
    assert "31 août 2020" in synopsis["narrative"], synopsis["narrative"]
    assert {s["code"] for s in body["sections"]} == {"synopsis", "human_rights"}, body["sections"]


async def test_demo_sections_are_published_copies_of_their_working_text(api: Api) -> None:
    working = await api.get("/v1/cities/LBBEY/sections", role=Api.VIEWER)
    public = await api.get("/v1/cities/LBBEY/sections")

    assert working.status_code == public.status_code == 200, (working.text, public.text)
    for section in working.json()["items"]:
        assert section["status"] == "published", section
        assert section["published_version"] == section["version"], section
    assert [s["narratives"] for s in working.json()["items"]] == [
        s["narratives"] for s in public.json()["items"]
    ]


@pytest.mark.parametrize("code", CITIES)
async def test_demo_focal_points_are_shown_to_token_holders_only(api: Api, code: str) -> None:
    anonymous = (await profile(api, code, "en"))["city"]["focal_points"]
    viewer = (await profile(api, code, "en", role=Api.VIEWER))["city"]["focal_points"]

    assert anonymous is None, anonymous
    assert sorted(point["kind"] for point in viewer) == ["political", "technical"], viewer
    assert all(point["email"].endswith("@example.org") for point in viewer), viewer
    assert all(point["name"].startswith("Demo ") for point in viewer), viewer


# The demo data as written


def test_technical_focal_points_are_the_dialogues_demo_focal_points() -> None:
    people = {
        person["city"]: person
        for person in load_story()["people"]
        if person["role"] == "technical_focal_point"
    }
    for city in demo_cities():
        [technical] = [point for point in city.focal_points if point.kind == "technical"]
        if city.code in people:
            person = people[city.code]
            assert (technical.name, technical.email) == (person["name"], person["email"]), city


def _figure_rows() -> dict[str, list[dict[str, str]]]:
    with FIGURES_FILE.open(newline="", encoding="utf-8") as handle:
        rows: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in csv.DictReader(handle):
            rows[row["city"]].append(row)
    return rows


def test_every_theme_of_a_citys_figures_has_a_demo_section() -> None:
    with INDICATORS_FILE.open(newline="", encoding="utf-8") as handle:
        themes = {row["code"]: row["theme"] for row in csv.DictReader(handle)}
    written: dict[str, set[str]] = defaultdict(set)
    for section in demo_narrative().sections:
        written[section.city].add(section.code)

    for code in CITIES:
        covered = {themes[row["indicator"]] for row in _figure_rows()[code]}
        assert covered | {"synopsis"} <= written[code], (code, covered, written[code])


# Numbers in running text: 1,234.5 (English, Arabic), 1 234,5 with narrow no-break spaces
# (French; 0.742 in a quoted English title).
# A digit glued to a Latin letter or a slash is part of a name (MC2CM, /v1), not a number.
_NUMBER = {
    "en": re.compile(
        r"(?<![A-Za-z/\d,.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![A-Za-z/\d,.])\d+(?:\.\d+)?"
    ),
    "fr": re.compile(r"(?<![A-Za-z/\d\u202f.,])\d+(?:\u202f\d{3})*(?:[.,]\d+)?"),
}
_NUMBER["ar"] = _NUMBER["en"]


def numbers(text: str, language: str) -> set[float]:
    found = set()
    for match in _NUMBER[language].findall(text):
        if language == "fr":
            found.add(float(match.replace("\u202f", "").replace(",", ".")))
        else:
            found.add(float(match.replace(",", "")))
    return found


def _published_numbers(code: str) -> set[float]:
    """Every number the demo data publishes for the city: its figures' values, their periods'
    parts, the numbers of their notes and source titles, and the dates of its story events."""
    allowed: set[float] = set()
    for row in _figure_rows()[code]:
        for field in ("value", "value_low", "value_high"):
            if row[field]:
                allowed.add(float(row[field]))
        allowed |= {float(part) for part in re.findall(r"\d+", row["period"])}
        allowed |= numbers(row["note"] + " " + row["source_title"], "en")
    for event in load_story()["events"]:
        if code == event["host_city"] or code in event.get("participating_cities", []):
            allowed |= {float(part) for part in re.findall(r"\d+", event["starts_at"][:10])}
    return allowed


@pytest.mark.parametrize("code", CITIES)
def test_demo_texts_state_no_number_the_demo_data_does_not_publish(code: str) -> None:
    narrative = demo_narrative()
    texts = [
        (f"{section.code}.{language}", language, body)
        for section in narrative.sections
        if section.city == code
        for language, body in section.text.narrative.items()
    ] + [
        (f"challenge {n}.{language}", language, description)
        for n, challenge in enumerate(narrative.challenges[code])
        for language, description in challenge.description.items()
    ]
    allowed = _published_numbers(code)

    assert {language for _, language, _ in texts} == set(LANGUAGES), texts
    for where, language, body in texts:
        stated = numbers(body, language)
        assert stated <= allowed, (code, where, sorted(stated - allowed))


def test_numbers_are_read_in_each_languages_notation() -> None:
    assert numbers("205,628 Syrian refugees, 20.5% of residents, MC2CM, /v1/imports", "en") == {
        205628.0,
        20.5,
    }
    assert numbers("206\u202f628 réfugiés, soit 20,5\u00a0%, le 1er juillet", "fr") == {
        206628.0,
        20.5,
        1.0,
    }
    assert numbers("و657,432 مقيمًا، أي 20.5%", "ar") == {657432.0, 20.5}


# Seeding


async def _row_counts(session: AsyncSession) -> dict[str, int]:
    tables = ("profiles.audit_log", "profiles.outbox", "dialogue.audit_log", "dialogue.outbox")
    counts = {}
    for table in (*tables, "profiles.section", "profiles.challenge"):
        counts[table] = int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
    return counts


async def test_seeding_again_changes_nothing(session: AsyncSession) -> None:
    before = await _row_counts(session)

    report = await seed_all(session)

    profiles = report.profiles
    assert (
        profiles.cities_created,
        profiles.focal_points_added,
        profiles.sections_published,
        profiles.challenges_created,
        profiles.figures.inserted + profiles.figures.updated,
    ) == (0, 0, 0, 0, 0), profiles
    assert await _row_counts(session) == before, "seeding again wrote audit, outbox or rows"


async def test_seeding_gives_demo_focal_points_only_to_a_city_without_any(
    session: AsyncSession,
) -> None:
    for code, points in (("PTLIS", []), ("ESMAD", [{"kind": "technical", "name": "Lucía"}])):
        city = await get_city(session, code)
        change = CityUpdate.model_validate({"focal_points": points})
        await update_city(session, SEED_PRINCIPAL, code, change, if_match=etag(city.version))

    first = await seed(session)
    again = await seed(session)

    lisbon, madrid = await get_city(session, "PTLIS"), await get_city(session, "ESMAD")
    assert [p["email"] for p in lisbon.focal_points] == [
        "gabinete.lisboa@example.org",
        "focal.lisbon@example.org",
    ], lisbon.focal_points
    assert [p["name"] for p in madrid.focal_points] == ["Lucía"], madrid.focal_points
    assert (first.focal_points_added, again.focal_points_added) == (1, 0)


async def test_seeding_leaves_an_edited_demo_section_as_its_editor_left_it(
    session: AsyncSession,
) -> None:
    section = await get_section(session, "LBBEY", "synopsis")
    published = dict(section.published_narrative or {})
    rewrite = SectionWrite.model_validate({"narrative": {"en": "Beirut's own synopsis."}})
    await write_section(
        session, SEED_PRINCIPAL, "LBBEY", "synopsis", rewrite, if_match=etag(section.version)
    )

    result = await seed(session)

    section = await get_section(session, "LBBEY", "synopsis")
    assert (section.status, section.narrative) == ("draft", {"en": "Beirut's own synopsis."})
    assert section.published_narrative == published
    assert result.sections_published == 0, result


async def test_seeding_adds_demo_challenges_only_to_a_city_without_challenges(
    session: AsyncSession,
) -> None:
    challenges = ChallengeRepository.from_session(session)
    tunis, amman = await challenges.for_city("TNTUN"), await challenges.for_city("JOAMM")
    await delete_challenge(session, SEED_PRINCIPAL, "TNTUN", tunis[0].id, if_match=None)
    for challenge in amman:
        await delete_challenge(session, SEED_PRINCIPAL, "JOAMM", challenge.id, if_match=None)

    result = await seed(session)

    assert len(await challenges.for_city("TNTUN")) == len(tunis) - 1
    assert len(await challenges.for_city("JOAMM")) == len(amman)
    assert result.challenges_created == len(amman), result
