"""Demo data for ``make dev`` and the tests: the network's cities with fictional focal points,
the catalogue, real figures, and a demo narrative (published sections and challenges).

Seeding is idempotent: what exists is left alone, figures go through the same import as any
CSV file, and only when a dry run of it finds something to add (so re-seeding changes nothing
and records neither history nor audit). The narrative fills only
what is empty: a section that does not exist yet (whatever an editor did to an existing one),
a city's challenges and focal points while it has none; each goes through its domain's
service, sections through the editorial workflow up to their published copy.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.challenges.repository import ChallengeRepository
from services.profiles_api.challenges.schemas import ChallengeCreate
from services.profiles_api.challenges.service import create_challenge
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.cities.schemas import CityCreate, CityUpdate
from services.profiles_api.cities.service import create_city, get_city, update_city
from services.profiles_api.demo.assessments import seed_assessments
from services.profiles_api.editions.repository import EditionRepository
from services.profiles_api.editions.service import publish_edition
from services.profiles_api.frameworks.service import publish_shipped
from services.profiles_api.imports.schemas import ImportResult
from services.profiles_api.imports.service import import_csv
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.indicators.schemas import IndicatorCreate
from services.profiles_api.indicators.service import create_indicator
from services.profiles_api.sections.repository import SectionRepository
from services.profiles_api.sections.schemas import SectionStatus, SectionTransition, SectionWrite
from services.profiles_api.sections.service import transition_section, write_section
from shared.auth import Principal, Role
from shared.concurrency import etag
from shared.settings import Settings

DEMO_DIR = Path(__file__).parent
CITIES_FILE = DEMO_DIR / "cities.json"
INDICATORS_FILE = DEMO_DIR / "indicators.csv"
FIGURES_FILE = DEMO_DIR / "city_figures.csv"
NARRATIVE_FILE = DEMO_DIR / "narrative.json"
SEED_PRINCIPAL = Principal(subject="mc2cm-seed", role=Role.admin)
_WHOLE_UNITS = {"persons", "count"}
#: What opens every demo challenge, by language: a reader sees it is demo content (the data
#: model has no flag for it). Sections open with their city's ``demo_note`` in italics.
DEMO_MARK = {"en": "[Demo]", "fr": "[Démo]", "ar": "[محتوى تجريبي]"}
#: The workflow a demo section goes through, as an editor's would: draft, review, publication.
_TO_PUBLICATION = (SectionStatus.in_review, SectionStatus.published)


@dataclass
class SeedResult:
    cities_created: int
    indicators_created: int
    figures: ImportResult
    focal_points_added: int = 0
    sections_published: int = 0
    challenges_created: int = 0
    editions_published: list[str] = field(default_factory=list)
    frameworks_published: int = 0
    assessments_published: int = 0


@dataclass(frozen=True)
class DemoSection:
    city: str
    code: str
    text: SectionWrite


@dataclass(frozen=True)
class DemoNarrative:
    """The demo sections and challenges of ``narrative.json``, as their services take them."""

    sections: list[DemoSection]
    challenges: dict[str, list[ChallengeCreate]]


def demo_cities() -> list[CityCreate]:
    return [CityCreate.model_validate(city) for city in json.loads(CITIES_FILE.read_text())]


def demo_indicators() -> list[IndicatorCreate]:
    """The catalogue of ``indicators.csv``, with names in English, French and Arabic."""
    with INDICATORS_FILE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    indicators = []
    for row in rows:
        names = {lang: row[f"name_{lang}"] for lang in ("en", "fr", "ar") if row[f"name_{lang}"]}
        indicators.append(
            IndicatorCreate.model_validate(
                {
                    "code": row["code"],
                    "names": names,
                    "descriptions": {"en": row["note"]} if row["note"] else {},
                    "theme": row["theme"],
                    "unit": row["unit"],
                    "value_type": "integer" if row["unit"] in _WHOLE_UNITS else "decimal",
                    "population_concept": row["population_concept"] or None,
                    "dimensions": [d for d in row["dimensions"].split(";") if d],
                    "aggregation": row["aggregation"],
                    "formula": row["formula"] or None,
                }
            )
        )
    # Derived indicators read others: create their inputs first.
    return sorted(indicators, key=lambda indicator: indicator.formula is not None)


def demo_narrative() -> DemoNarrative:
    """Sections whose narrative opens with the city's demo note (italic Markdown) and
    challenges whose descriptions open with the demo mark, in every language written."""
    document = json.loads(NARRATIVE_FILE.read_text(encoding="utf-8"))
    sections: list[DemoSection] = []
    challenges: dict[str, list[ChallengeCreate]] = {}
    for city, content in document["cities"].items():
        note: dict[str, str] = content["demo_note"]
        for code, section in content["sections"].items():
            narrative = {
                language: "\n\n".join([f"*{note[language]}*", *paragraphs])
                for language, paragraphs in section["narrative"].items()
            }
            text = SectionWrite.model_validate({"title": section["title"], "narrative": narrative})
            sections.append(DemoSection(city, code, text))
        challenges[city] = [
            ChallengeCreate.model_validate(
                {
                    **challenge,
                    "description": {
                        language: f"{DEMO_MARK[language]} {description}"
                        for language, description in challenge["description"].items()
                    },
                }
            )
            for challenge in content["challenges"]
        ]
    return DemoNarrative(sections, challenges)


async def file_chunks(path: Path, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


#: The cities ``make dev`` publishes an edition of (Tunis reads it in Arabic, Lyon in French).
DEMO_EDITION_CITIES = ("TNTUN", "FRLYS", "PTLIS")


async def seed(session: AsyncSession, *, editions: Settings | None = None) -> SeedResult:
    """Load what is missing of the demo data; leaves existing data as it is. With the
    platform's ``editions`` settings, publish an edition of each of ``DEMO_EDITION_CITIES``
    that has none, as the public reads it there (the tests' data has none: each test
    publishes its own)."""
    known_cities = await CityRepository.from_session(session).codes()
    cities_created = focal_points_added = 0
    for city in demo_cities():
        if city.code not in known_cities:
            await create_city(session, SEED_PRINCIPAL, city)
            cities_created += 1
        else:
            focal_points_added += await _give_focal_points(session, city)
    known_indicators = await IndicatorRepository.from_session(session).all()
    indicators_created = 0
    for indicator in demo_indicators():
        if indicator.code not in known_indicators:
            await create_indicator(session, SEED_PRINCIPAL, indicator)
            indicators_created += 1
    figures = await _import_figures(session)
    sections_published, challenges_created = await seed_narrative(session)
    frameworks_published = sum(created for _, created in await publish_shipped(session))
    assessments_published = await seed_assessments(session, SEED_PRINCIPAL, DEMO_MARK)
    return SeedResult(
        cities_created,
        indicators_created,
        figures,
        focal_points_added=focal_points_added,
        sections_published=sections_published,
        challenges_created=challenges_created,
        editions_published=await seed_editions(session, editions) if editions else [],
        frameworks_published=frameworks_published,
        assessments_published=assessments_published,
    )


async def seed_editions(session: AsyncSession, settings: Settings) -> list[str]:
    """Publish an edition of each demo edition city that has none; the ids published."""
    editions = EditionRepository.from_session(session)
    published = []
    for city in DEMO_EDITION_CITIES:
        if not await editions.exists_for(city):
            edition = await publish_edition(
                session,
                SEED_PRINCIPAL,
                city,
                suppression_threshold=settings.suppression_threshold,
            )
            published.append(edition.id)
    return published


async def _import_figures(session: AsyncSession) -> ImportResult:
    """Import the demo figures if any is missing or differs. A dry run asks first: every
    import is audited, even one that changes nothing, and seeding again must write nothing."""
    preview = await import_csv(
        session,
        SEED_PRINCIPAL,
        file_chunks(FIGURES_FILE),
        dry_run=True,
        reason=None,
        max_reported_errors=100,
    )
    if not (preview.inserted or preview.updated or preview.sources_created):
        return preview
    return await import_csv(
        session,
        SEED_PRINCIPAL,
        file_chunks(FIGURES_FILE),
        dry_run=False,
        reason="demo data: published figures of the network's cities",
        max_reported_errors=100,
    )


async def _give_focal_points(session: AsyncSession, city: CityCreate) -> bool:
    """Give an existing city without contacts its demo focal points; whether it got them.
    (Cities created before the demo had focal points get them once; a city's own are kept.)"""
    existing = await get_city(session, city.code)
    if existing.focal_points or not city.focal_points:
        return False
    await update_city(
        session,
        SEED_PRINCIPAL,
        city.code,
        CityUpdate(focal_points=city.focal_points),
        if_match=etag(existing.version),
    )
    return True


async def seed_narrative(session: AsyncSession) -> tuple[int, int]:
    """Publish the demo sections a city does not have and add the demo challenges of a city
    that has none; how many of each were added."""
    narrative = demo_narrative()
    sections = SectionRepository.from_session(session)
    published = 0
    for demo in narrative.sections:
        if await sections.find(demo.city, demo.code) is not None:
            continue
        section, _ = await write_section(
            session, SEED_PRINCIPAL, demo.city, demo.code, demo.text, if_match=None
        )
        for status in _TO_PUBLICATION:
            section = await transition_section(
                session,
                SEED_PRINCIPAL,
                demo.city,
                demo.code,
                SectionTransition(status=status),
                if_match=etag(section.version),
            )
        published += 1
    challenges = ChallengeRepository.from_session(session)
    created = 0
    for city, needs in narrative.challenges.items():
        if await challenges.for_city(city):
            continue
        for need in needs:
            await create_challenge(session, SEED_PRINCIPAL, city, need)
            created += 1
    return published, created
