"""The report as HTML, rendered from a ``ReportDocument`` in one language (Jinja2, autoescaped).

Pure: it reads no database and knows nothing of who asks, so a preview and an edition render
through the same code. Every text of the document is escaped (narratives are user input); the
only markup inserted as is, is the SVG that vl-convert draws, whose texts it escapes itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from services.profiles_api.observations.fields import ESTIMATED_STATUSES, ObsStatus, ValueStatus
from services.profiles_api.reports.charts import Chart, indicator_chart
from services.profiles_api.reports.document import (
    DocumentIndicator,
    DocumentSection,
    DocumentValue,
    ReportDocument,
)
from services.profiles_api.reports.localise import Localiser, Picked
from shared.contracts.themes import THEMES, Theme

#: Statuses the reflections on data name as a comparability warning.
COMPARABILITY_STATUSES = frozenset({ObsStatus.B, ObsStatus.D})
NEED_TYPES = ("governance", "resources", "capabilities")
PRIORITIES = {"high": 0, "medium": 1, "low": 2}

_ENVIRONMENT = Environment(
    loader=PackageLoader("services.profiles_api.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class SectionView:
    title: Picked
    paragraphs: list[Markup]
    narrative: Picked


_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPHASIS = re.compile(r"\*(\S(?:.*?\S)?)\*")


def paragraph_markup(text: str) -> Markup:
    """One paragraph of a Markdown narrative: escaped first, then its ``**strong**`` and
    ``*emphasis*`` as markup (the only Markdown the narratives use); nothing else is markup."""
    escaped = str(escape(text.strip()))
    escaped = _STRONG.sub(r"<strong>\1</strong>", escaped)
    return Markup(_EMPHASIS.sub(r"<em>\1</em>", escaped))  # escaped above


@dataclass(frozen=True)
class ChartView:
    anchor: str
    svg: Markup
    alt: str


@dataclass(frozen=True)
class FigureRow:
    data: Picked
    value: str
    year: str
    source: str
    note: str | None


@dataclass(frozen=True)
class ThemeView:
    anchor: str
    name: str
    section: SectionView | None
    charts: list[ChartView]


@dataclass(frozen=True)
class ChallengeView:
    theme: str
    description: Picked
    priority: str
    priority_code: str


@dataclass(frozen=True)
class SourceView:
    title: str
    publisher: str | None
    url: str | None
    link: bool
    kind: str
    accessed: str | None


@dataclass
class Reflections:
    comparability: list[str] = field(default_factory=list)
    estimates: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    coverage: list[str] = field(default_factory=list)


def render_report(
    document: ReportDocument,
    language: str,
    *,
    preview: bool,
    draw: Callable[[Chart], str],
) -> str:
    """The report of ``document`` in ``language``; ``draw`` turns a chart into SVG."""
    loc = Localiser(language)
    indicators = {indicator.code: indicator for indicator in document.indicators}
    sections = {section.code: section for section in document.sections}
    city = loc.pick(document.city.names, document.city.code)
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(
        loc=loc,
        preview=preview,
        document=document,
        city=city,
        generated=loc.date(document.generated_at.date()),
        synopsis=_section(sections.get("synopsis"), loc),
        national_context=_section(sections.get("national_context"), loc),
        data_reflections=_section(sections.get("data_reflections"), loc),
        figures=_figure_rows(document, indicators, loc),
        themes=_themes(document, indicators, sections, loc, draw),
        challenges=_challenges(document, loc),
        reflections=_reflections(document, indicators, loc),
        sources=_sources(document, loc),
    )


def _section(section: DocumentSection | None, loc: Localiser) -> SectionView | None:
    if section is None:
        return None
    narrative = loc.pick(section.narratives)
    title = loc.pick(section.titles, section.code)
    paragraphs = [paragraph_markup(part) for part in narrative.text.split("\n\n") if part.strip()]
    return SectionView(title=title, paragraphs=paragraphs, narrative=narrative)


def _value_text(value: DocumentValue, unit: str, loc: Localiser) -> str:
    if value.status is ValueStatus.suppressed:
        return "—"
    suffix = {"percent": " %", "per_mille": " ‰"}.get(unit, "")
    text = loc.number(value.value) + suffix
    if value.value_low is not None and value.value_high is not None:
        text += f" ({loc.number(value.value_low)}\N{EN DASH}{loc.number(value.value_high)})"
    return text


def _source_title(document: ReportDocument, source_id: int) -> str:
    for source in document.sources:
        if source.id == source_id:
            return source.title
    return ""


def _figure_rows(
    document: ReportDocument, indicators: dict[str, DocumentIndicator], loc: Localiser
) -> list[FigureRow]:
    rows = []
    for figure in document.figures:
        indicator = indicators.get(figure.indicator)
        names = indicator.names if indicator else {}
        unit = indicator.unit.value if indicator else ""
        rows.append(
            FigureRow(
                data=loc.pick(names, figure.indicator),
                value=_value_text(figure, unit, loc),
                year=loc.period(figure.period),
                source=_source_title(document, figure.source),
                note=figure.note,
            )
        )
    return rows


def _themes(
    document: ReportDocument,
    indicators: dict[str, DocumentIndicator],
    sections: dict[str, DocumentSection],
    loc: Localiser,
    draw: Callable[[Chart], str],
) -> list[ThemeView]:
    charted = {value.indicator for value in document.series if value.status is ValueStatus.shown}
    views = []
    for theme in Theme:
        charts = [
            indicator_chart(document, indicator, loc)
            for indicator in document.indicators
            if indicator.theme == theme.value and indicator.code in charted
        ]
        views.append(
            ThemeView(
                anchor=f"theme-{theme.value}",
                name=loc.text(THEMES[theme].names, theme.value),
                section=_section(sections.get(theme.value), loc),
                charts=[
                    ChartView(
                        anchor=f"chart-{chart.indicator.code}",
                        svg=Markup(draw(chart)),  # vl-convert escapes its texts
                        alt=chart.alt,
                    )
                    for chart in charts
                ],
            )
        )
    return views


def _theme_name(code: str, loc: Localiser) -> str:
    theme = next((theme for theme in Theme if theme.value == code), None)
    return loc.text(THEMES[theme].names, code) if theme else code


def _challenges(document: ReportDocument, loc: Localiser) -> dict[str, list[ChallengeView]]:
    grouped: dict[str, list[ChallengeView]] = {need: [] for need in NEED_TYPES}
    ordered = sorted(
        document.challenges,
        key=lambda challenge: (PRIORITIES.get(challenge.priority, 3), challenge.theme),
    )
    for challenge in ordered:
        grouped.setdefault(challenge.need_type, []).append(
            ChallengeView(
                theme=_theme_name(challenge.theme, loc),
                description=loc.pick(challenge.descriptions),
                priority=loc.label(challenge.priority),
                priority_code=challenge.priority,
            )
        )
    return grouped


def _reflections(
    document: ReportDocument, indicators: dict[str, DocumentIndicator], loc: Localiser
) -> Reflections:
    found = Reflections()

    def name(code: str) -> str:
        indicator = indicators.get(code)
        return loc.text(indicator.names, code) if indicator else code

    for figure in document.figures:
        period = loc.period(figure.period)
        if figure.scope != "municipality":
            found.comparability.append(
                loc.label(
                    "scope_warning",
                    indicator=name(figure.indicator),
                    period=period,
                    scope=figure.scope,
                )
            )
        if figure.obs_status in COMPARABILITY_STATUSES:
            found.comparability.append(
                loc.label(
                    "status_warning",
                    indicator=name(figure.indicator),
                    period=period,
                    status=loc.label(f"status_{figure.obs_status.value}"),
                )
            )
        if figure.obs_status in ESTIMATED_STATUSES or figure.value_low is not None:
            status = figure.obs_status
            found.estimates.append(
                loc.label(
                    "estimate_line",
                    indicator=name(figure.indicator),
                    period=period,
                    status=loc.label(f"status_{status.value}")
                    if status in ESTIMATED_STATUSES or status is ObsStatus.P
                    else loc.label("status_E"),
                    range=loc.label(
                        "range",
                        low=loc.number(figure.value_low),
                        high=loc.number(figure.value_high),
                    )
                    if figure.value_low is not None and figure.value_high is not None
                    else "",
                )
            )
    concepts = {
        indicators[f.indicator].population_concept
        for f in document.figures
        if f.indicator in indicators and indicators[f.indicator].population_concept
    }
    for figure in document.figures:
        indicator = indicators.get(figure.indicator)
        if indicator and indicator.population_concept and len(concepts) > 1:
            found.comparability.append(
                loc.label(
                    "concept_warning",
                    indicator=name(figure.indicator),
                    concept=indicator.population_concept,
                )
            )
    hidden: dict[str, int] = {}
    for value in document.series:
        if value.status is ValueStatus.suppressed:
            hidden[value.indicator] = hidden.get(value.indicator, 0) + 1
    found.suppressed = [
        loc.label("suppressed_line", indicator=name(code), count=loc.number(count))
        for code, count in sorted(hidden.items())
    ]
    for row in document.coverage:
        if row.indicators and row.recent < row.indicators:
            found.coverage.append(
                loc.label(
                    "coverage_line",
                    theme=_theme_name(row.theme, loc),
                    with_data=loc.number(row.with_data),
                    indicators=loc.number(row.indicators),
                    recent=loc.number(row.recent),
                )
            )
    return found


def _sources(document: ReportDocument, loc: Localiser) -> list[SourceView]:
    return [
        SourceView(
            title=source.title,
            publisher=source.publisher,
            url=source.url,
            # Only web addresses become links: a `javascript:` URL stays text.
            link=bool(source.url) and urlsplit(source.url or "").scheme in ("http", "https"),
            kind=source.kind,
            accessed=loc.label("accessed", date=loc.date(source.accessed_on))
            if source.accessed_on
            else None,
        )
        for source in sorted(document.sources, key=lambda source: source.title.casefold())
    ]
