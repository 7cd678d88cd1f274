"""The report's view of a ``ReportDocument`` in one language, and the report as HTML.

``report_view`` computes what a report shows (cover, key figures, themes with their narrative
and charts, challenges, reflections on data, sources) once; the HTML template (Jinja2,
autoescaped) and the PDF (``pdf.render_pdf``) lay out the same view. Pure: it reads no database
and knows nothing of who asks, so a preview and an edition render through the same code. Every
text of the document is escaped (narratives are user input); the only markup inserted as is, is
the SVG that vl-convert draws, whose texts it escapes itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from services.profiles_api.observations.fields import ESTIMATED_STATUSES, ObsStatus, ValueStatus
from services.profiles_api.reports.charts import Drawable, assessment_chart, indicator_chart
from services.profiles_api.reports.document import (
    DocumentAssessment,
    DocumentIndicator,
    DocumentSection,
    DocumentValue,
    ReportDocument,
)
from services.profiles_api.reports.labels import has_label
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
    #: The narrative's paragraphs as written (Markdown), for layouts other than HTML.
    texts: list[str] = field(default_factory=list)


_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPHASIS = re.compile(r"\*(\S(?:.*?\S)?)\*")


@dataclass(frozen=True)
class Run:
    """A stretch of a paragraph in one style."""

    text: str
    strong: bool = False
    emphasis: bool = False


def paragraph_runs(text: str) -> list[Run]:
    """One paragraph of a Markdown narrative as plain texts with their ``**strong**`` and
    ``*emphasis*`` (the only Markdown the narratives use); line breaks inside it are spaces."""
    flat = " ".join(text.split())
    runs: list[Run] = []
    position = 0
    for strong in _STRONG.finditer(flat):
        runs += _emphasis_runs(flat[position : strong.start()], strong=False)
        runs += _emphasis_runs(strong.group(1), strong=True)
        position = strong.end()
    runs += _emphasis_runs(flat[position:], strong=False)
    return runs


def _emphasis_runs(text: str, *, strong: bool) -> list[Run]:
    runs: list[Run] = []
    position = 0
    for emphasis in _EMPHASIS.finditer(text):
        if emphasis.start() > position:
            runs.append(Run(text[position : emphasis.start()], strong=strong))
        runs.append(Run(emphasis.group(1), strong=strong, emphasis=True))
        position = emphasis.end()
    if position < len(text):
        runs.append(Run(text[position:], strong=strong))
    return runs


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

    def groups(self) -> list[tuple[str, list[str]]]:
        """Each kind of reflection (its label key) with its lines, in the report's order."""
        return [
            ("comparability", self.comparability),
            ("estimates", self.estimates),
            ("suppressed", self.suppressed),
            ("coverage", self.coverage),
        ]


@dataclass(frozen=True)
class AreaRow:
    """One area of an assessment: its score (a localized number, or why it has none) and how
    many of its questions were answered."""

    area: Picked
    score: str
    scored: bool
    completeness: str


@dataclass(frozen=True)
class AssessmentView:
    anchor: str
    title: Picked
    version: str
    #: "as of" the reference date in the report's language, and the date as ISO 8601.
    as_of: str
    reference_date: str
    #: The note that results are a profile, not a ranking (a framework that is not rankable).
    not_rankable: str | None
    chart: ChartView | None
    #: The areas left out of the chart, each with the reason it has no score.
    unscored: list[str]
    rows: list[AreaRow]
    #: What the framework is modelled on (its credit line), as the framework states it.
    model: str


@dataclass(frozen=True)
class CoverView:
    city: Picked
    #: The document's date in the report's language, and as ISO 8601.
    generated: str
    generated_on: str
    edition: str | None
    content_hash: str | None
    citation: str | None


@dataclass(frozen=True)
class ReportView:
    """What a report shows, in the order it shows it, in one language."""

    loc: Localiser
    preview: bool
    cover: CoverView
    synopsis: SectionView | None
    figures: list[FigureRow]
    national_context: SectionView | None
    themes: list[ThemeView]
    challenges: dict[str, list[ChallengeView]]
    data_reflections: SectionView | None
    reflections: Reflections
    sources: list[SourceView]
    assessments: list[AssessmentView] = field(default_factory=list)


def report_view(
    document: ReportDocument,
    language: str,
    *,
    preview: bool,
    draw: Callable[[Drawable], str],
) -> ReportView:
    """The report of ``document`` in ``language``; ``draw`` turns a chart into SVG."""
    loc = Localiser(language)
    indicators = {indicator.code: indicator for indicator in document.indicators}
    sections = {section.code: section for section in document.sections}
    return ReportView(
        loc=loc,
        preview=preview,
        cover=CoverView(
            city=loc.pick(document.city.names, document.city.code),
            generated=loc.date(document.generated_at.date()),
            generated_on=document.generated_at.date().isoformat(),
            edition=document.edition,
            content_hash=document.content_hash,
            citation=document.citation,
        ),
        synopsis=_section(sections.get("synopsis"), loc),
        figures=_figure_rows(document, indicators, loc),
        national_context=_section(sections.get("national_context"), loc),
        themes=_themes(document, indicators, sections, loc, draw),
        challenges=_challenges(document, loc),
        data_reflections=_section(sections.get("data_reflections"), loc),
        reflections=_reflections(document, indicators, loc),
        sources=_sources(document, loc),
        assessments=[
            _assessment(document, assessment, position, loc, draw)
            for position, assessment in enumerate(document.assessments)
        ],
    )


def render_report(
    document: ReportDocument,
    language: str,
    *,
    preview: bool,
    draw: Callable[[Drawable], str],
) -> str:
    """The report of ``document`` in ``language`` as HTML; ``draw`` turns a chart into SVG."""
    return render_html(report_view(document, language, preview=preview, draw=draw))


def render_html(view: ReportView) -> str:
    """The report's view laid out as an HTML page."""
    return _ENVIRONMENT.get_template("report.html.j2").render(view=view, loc=view.loc)


def _section(section: DocumentSection | None, loc: Localiser) -> SectionView | None:
    if section is None:
        return None
    narrative = loc.pick(section.narratives)
    title = loc.pick(section.titles, section.code)
    texts = [part.strip() for part in narrative.text.split("\n\n") if part.strip()]
    return SectionView(
        title=title,
        paragraphs=[paragraph_markup(text) for text in texts],
        narrative=narrative,
        texts=texts,
    )


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
    draw: Callable[[Drawable], str],
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


def _reason(reason: str | None, loc: Localiser) -> str:
    key = f"reason_{reason}"
    return loc.label(key) if has_label(key) else loc.label("no_score")


def _assessment(
    document: ReportDocument,
    assessment: DocumentAssessment,
    position: int,
    loc: Localiser,
    draw: Callable[[Drawable], str],
) -> AssessmentView:
    anchor = f"assessment-{position + 1}"
    areas = [score for score in assessment.scores if score.level == "area"]
    chart = assessment_chart(assessment, document.city.names, document.city.code, loc)
    return AssessmentView(
        anchor=anchor,
        title=loc.pick(assessment.titles, assessment.framework),
        version=assessment.version,
        as_of=loc.label("as_of", date=loc.date(assessment.reference_date)),
        reference_date=assessment.reference_date.isoformat(),
        # Never a rank, whatever the framework: a framework that is not rankable says so.
        not_rankable=None if assessment.rankable else loc.label("not_rankable"),
        chart=ChartView(
            anchor=f"{anchor}-chart",
            svg=Markup(draw(chart)),  # vl-convert escapes its texts
            alt=chart.alt,
        )
        if any(area.score is not None for area in areas)
        else None,
        unscored=[
            f"{loc.text(area.titles, area.code)}{loc.label('colon')}{_reason(area.reason, loc)}"
            for area in chart.unscored
        ],
        rows=[
            AreaRow(
                area=loc.pick(area.titles, area.code),
                score=loc.number(area.score)
                if area.score is not None
                else _reason(area.reason, loc),
                scored=area.score is not None,
                completeness=loc.label(
                    "completeness_value",
                    answered=loc.number(area.answered),
                    total=loc.number(area.total),
                ),
            )
            for area in areas
        ],
        model=assessment.model,
    )


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
