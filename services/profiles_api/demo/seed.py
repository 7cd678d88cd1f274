"""Demo data for ``make dev`` and the tests: the network's cities, the catalogue, real figures.

Seeding is idempotent: what exists is left alone, figures go through the same import as any
CSV file (so re-seeding changes nothing and records no history).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.cities.schemas import CityCreate
from services.profiles_api.cities.service import create_city
from services.profiles_api.imports.schemas import ImportResult
from services.profiles_api.imports.service import import_csv
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.indicators.schemas import IndicatorCreate
from services.profiles_api.indicators.service import create_indicator
from shared.auth import Principal, Role

DEMO_DIR = Path(__file__).parent
CITIES_FILE = DEMO_DIR / "cities.json"
INDICATORS_FILE = DEMO_DIR / "indicators.csv"
FIGURES_FILE = DEMO_DIR / "city_figures.csv"
SEED_PRINCIPAL = Principal(subject="mc2cm-seed", role=Role.admin)
_WHOLE_UNITS = {"persons", "count"}


@dataclass
class SeedResult:
    cities_created: int
    indicators_created: int
    figures: ImportResult


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


async def file_chunks(path: Path, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


async def seed(session: AsyncSession) -> SeedResult:
    """Load what is missing of the demo data; leaves existing data as it is."""
    known_cities = await CityRepository.from_session(session).codes()
    cities_created = 0
    for city in demo_cities():
        if city.code not in known_cities:
            await create_city(session, SEED_PRINCIPAL, city)
            cities_created += 1
    known_indicators = await IndicatorRepository.from_session(session).all()
    indicators_created = 0
    for indicator in demo_indicators():
        if indicator.code not in known_indicators:
            await create_indicator(session, SEED_PRINCIPAL, indicator)
            indicators_created += 1
    figures = await import_csv(
        session,
        SEED_PRINCIPAL,
        file_chunks(FIGURES_FILE),
        dry_run=False,
        reason="demo data: published figures of the network's cities",
        max_reported_errors=100,
    )
    return SeedResult(cities_created, indicators_created, figures)
