"""What profiles' public pages show, read as the public may see it (no FastAPI here).

The city's page is the report's live preview (``reports.service.report_preview``) and the
compare page's chart the compare chart's spec (``reports.service.compare_chart_spec``): the
pages add navigation around them, never a second way of reading the data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.models import City
from services.profiles_api.cities.service import get_city, list_cities
from services.profiles_api.editions import citation
from services.profiles_api.editions import service as editions_service
from services.profiles_api.editions.models import Edition
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.reader import Reader
from services.profiles_api.profiles.repository import CoverageRow, theme_coverage
from services.profiles_api.reports import service as reports_service
from services.profiles_api.reports.charts import spec_svg
from shared.pagination import PageParams

#: The most cities the index lists, and editions a city's page lists (the JSON has the rest).
MAX_CITIES = 500
EDITIONS_SHOWN = 100


@dataclass(frozen=True)
class CityCoverage:
    """A city and its data coverage per theme (``profiles.repository.theme_coverage``)."""

    city: City
    themes: list[CoverageRow]

    @property
    def with_data(self) -> int:
        return sum(row.with_data for row in self.themes)

    @property
    def indicators(self) -> int:
        return sum(row.indicators for row in self.themes)


async def network_coverage(session: AsyncSession) -> list[CityCoverage]:
    """Every city of the network, by code, with its coverage per theme."""
    cities = await list_cities(session, PageParams(limit=MAX_CITIES, cursor=None))
    today = datetime.now(UTC).date()
    return [CityCoverage(city, await theme_coverage(session, city.code, today)) for city in cities]


async def city(session: AsyncSession, code: str) -> City:
    """The city with ``code``, or 404."""
    return await get_city(session, code)


async def city_preview(session: AsyncSession, reader: Reader, code: str, language: str) -> str:
    """The city's live report (the preview the API serves), as a complete HTML document."""
    return await reports_service.report_preview(session, reader, code, language)


@dataclass(frozen=True)
class EditionEntry:
    """One edition as its city's page lists it: a citation line while it is published, the
    reason and successor once withdrawn."""

    edition: Edition
    citation: str | None
    successor: str | None


async def city_editions(
    session: AsyncSession,
    code: str,
    *,
    city_name: Callable[[dict[str, str]], str],
    url_of: Callable[[str], str],
) -> list[EditionEntry]:
    """The city's newest editions (404 for an unknown city), each cited with its city named
    by ``city_name`` as the edition froze it and its address given by ``url_of``."""
    editions = await editions_service.list_editions(
        session, code, PageParams(limit=EDITIONS_SHOWN, cursor=None)
    )
    today = datetime.now(UTC).date()
    entries = []
    for edition in editions:
        if edition.withdrawn_at is not None:
            successor = await editions_service.successor_of(session, edition)
            entries.append(EditionEntry(edition, None, successor))
            continue
        names: dict[str, str] = json.loads(edition.content)["city"]["names"]
        cited = citation.Citation(
            edition_id=edition.id,
            city=city_name(names),
            published_at=edition.published_at,
            url=url_of(edition.id),
            content_hash=edition.content_hash,
            accessed=today,
        )
        entries.append(EditionEntry(edition, citation.text_line(cited).strip(), None))
    return entries


@dataclass(frozen=True)
class CompareChoices:
    """What the compare form offers: the catalogue's indicators and the network's cities."""

    indicators: list[Indicator]
    cities: list[City]


async def compare_choices(session: AsyncSession) -> CompareChoices:
    catalogue = await IndicatorRepository.from_session(session).all()
    cities = await list_cities(session, PageParams(limit=MAX_CITIES, cursor=None))
    indicators = sorted(catalogue.values(), key=lambda indicator: (indicator.theme, indicator.code))
    return CompareChoices(indicators, list(cities))


@dataclass(frozen=True)
class ComparedChart:
    """The compare chart's Vega-Lite spec (its data, unit, warnings) and its SVG."""

    spec: dict[str, Any]
    svg: str | None


def draw_compare_chart(spec: dict[str, Any]) -> str:
    """The spec drawn to SVG, with its text alternative as the image's accessible name."""
    # The page prints the sources above the chart: a title as wide as their list would shrink
    # the drawing to nothing on a phone.
    title = {**spec["title"], "subtitle": spec["title"]["subtitle"][:1]}
    return spec_svg({**spec, "title": title}, str(spec.get("description", "")))


async def compared(
    session: AsyncSession,
    reader: Reader,
    *,
    indicators: list[str],
    cities: list[str],
    language: str,
) -> ComparedChart:
    """The comparison as its chart's spec and SVG (no SVG when no city has a value);
    ``FieldProblem`` for an unknown indicator or city, as ``compare`` raises it."""
    spec = await reports_service.compare_chart_spec(
        session, reader, indicators=indicators, cities=cities, period=None, language=language
    )
    if not spec["data"]["values"]:
        return ComparedChart(spec, None)
    # Drawing is CPU work outside the event loop (vl-convert runs its own engine).
    return ComparedChart(spec, await to_thread.run_sync(draw_compare_chart, spec))
