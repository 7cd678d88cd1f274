"""Charts as data: a Vega-Lite v5 spec of one indicator's values over time, and its SVG.

The spec is what ``GET /v1/cities/{code}/charts/{indicator}`` serves (front ends draw it with
vega-embed) and what the report draws on the server, from the same ``ReportDocument``.
"""

from __future__ import annotations

import functools
import html
import json
import textwrap
from dataclasses import dataclass
from typing import Any, Protocol

import vl_convert

from services.profiles_api.observations.fields import ValueStatus
from services.profiles_api.reports.document import (
    DocumentAssessment,
    DocumentIndicator,
    DocumentScore,
    DocumentValue,
    ReportDocument,
)
from services.profiles_api.reports.labels import has_label
from services.profiles_api.reports.localise import Localiser

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH, HEIGHT = 420, 220


def scope_rank(scope: str) -> int:
    """Which geography best represents the city (as the profile's latest figures choose)."""
    if scope.startswith("district:"):
        return 2
    return {"municipality": 0, "metro": 1, "governorate": 3, "region": 4}.get(scope, 5)


class Drawable(Protocol):
    """What a report draws: a Vega-Lite spec and its text alternative."""

    @property
    def spec(self) -> dict[str, Any]: ...

    @property
    def alt(self) -> str: ...


@dataclass(frozen=True)
class Chart:
    indicator: DocumentIndicator
    spec: dict[str, Any]
    alt: str
    points: list[DocumentValue]
    suppressed: int


def breakdown_text(breakdown: dict[str, str], loc: Localiser) -> str:
    if not breakdown:
        return loc.label("total")
    return loc.label("list_separator").join(
        loc.breakdown(name, value) for name, value in sorted(breakdown.items())
    )


def chart_points(document: ReportDocument, indicator: str) -> list[DocumentValue]:
    """The indicator's values at the city's best-represented scope, oldest first."""
    values = [value for value in document.series if value.indicator == indicator]
    if not values:
        return []
    best = min(scope_rank(value.scope) for value in values)
    chosen = [value for value in values if scope_rank(value.scope) == best]
    scope = min(value.scope for value in chosen)
    return sorted(
        (value for value in chosen if value.scope == scope),
        key=lambda value: (value.period_start, sorted(value.breakdown.items())),
    )


def indicator_chart(
    document: ReportDocument, indicator: DocumentIndicator, loc: Localiser
) -> Chart:
    """The chart of ``indicator`` for the document's city, in ``loc``'s language."""
    points = chart_points(document, indicator.code)
    shown = [point for point in points if point.status is ValueStatus.shown]
    suppressed = len(points) - len(shown)
    sources = {source.id: source for source in document.sources}
    name = loc.text(indicator.names, indicator.code)
    city = loc.text(document.city.names, document.city.code)
    unit = loc.unit(indicator.unit)
    source_titles = list(
        dict.fromkeys(sources[point.source].title for point in shown if point.source in sources)
    )
    source_line = f"{loc.label('source')}: {'; '.join(source_titles)}" if source_titles else ""
    alt = _alt_text(name, city, unit, shown, loc) + (
        loc.label("chart_suppressed", count=suppressed) if suppressed else ""
    )
    breakdowns = {breakdown_text(point.breakdown, loc) for point in shown}
    encoding: dict[str, Any] = {
        "x": {
            "field": "period",
            "type": "ordinal",
            "sort": None,
            "title": loc.label("year"),
        },
        "y": {"field": "value", "type": "quantitative", "title": unit},
        "tooltip": [
            {"field": "period", "type": "ordinal", "title": loc.label("year")},
            {"field": "value", "type": "quantitative", "title": loc.label("value")},
            {"field": "source", "type": "nominal", "title": loc.label("source")},
        ],
    }
    if len(breakdowns) > 1:
        encoding["color"] = {
            "field": "breakdown",
            "type": "nominal",
            "title": loc.label("breakdown"),
            # Below the plot, one entry a line: the breakdowns' names are phrases, and a
            # legend beside the plot would leave them no room on a phone.
            "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 0},
        }
    spec: dict[str, Any] = {
        "$schema": VEGA_LITE_SCHEMA,
        "title": {
            "text": f"{name} — {city}",
            "subtitle": [text for text in (f"{loc.label('unit')}: {unit}", source_line) if text],
            # A right-to-left title reads from the right edge.
            "anchor": "end" if loc.direction == "rtl" else "start",
            "lineHeight": 20,
            "subtitleLineHeight": 16,
        },
        "description": alt,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {
            "values": [
                {
                    "period": point.period,
                    "value": point.value,
                    "value_low": point.value_low,
                    "value_high": point.value_high,
                    "breakdown": breakdown_text(point.breakdown, loc),
                    "obs_status": point.obs_status.value,
                    "source": sources[point.source].title if point.source in sources else "",
                }
                for point in shown
            ]
        },
        "mark": {"type": "line", "point": True},
        "encoding": encoding,
        "usermeta": {
            "city": document.city.code,
            "indicator": indicator.code,
            "unit": indicator.unit.value,
            "language": loc.language,
            "scope": points[0].scope if points else None,
            "suppressed": suppressed,
        },
    }
    return Chart(indicator, spec, alt, points, suppressed)


def _alt_text(name: str, city: str, unit: str, shown: list[DocumentValue], loc: Localiser) -> str:
    if not shown:
        return loc.label("chart_empty", indicator=name, city=city)
    # The latest total if there is one: a breakdown's value would not say whose it is.
    latest = next((point for point in reversed(shown) if not point.breakdown), shown[-1])
    return loc.label(
        "chart_alt",
        indicator=name,
        city=city,
        count=loc.number(len(shown)),
        first=loc.period(shown[0].period),
        last=loc.period(shown[-1].period),
        period=loc.period(latest.period),
        value=f"{loc.number(latest.value)} {unit}",
    )


#: Charts drawn lately, by their spec: an edition's report (immutable) and a preview of data
#: that did not change draw the same specs again; drawing is most of a report's time.
DRAWN_CACHE_SIZE = 512


@functools.lru_cache(maxsize=DRAWN_CACHE_SIZE)
def _drawn(spec: str) -> str:
    return vl_convert.vegalite_to_svg(json.loads(spec))


def spec_svg(spec: dict[str, Any], alt: str) -> str:
    """A Vega-Lite spec drawn as SVG, named by its text alternative ``alt`` (its accessible
    name and title), and laid out left to right whatever the page's direction: a
    right-to-left page must not turn its texts' anchors around (titles would be drawn
    outside the chart)."""
    drawn = _drawn(json.dumps(spec, sort_keys=True, ensure_ascii=False))
    opening = drawn.index(">")
    escaped = html.escape(alt)
    return (
        drawn[:opening]
        + f' role="img" aria-label="{escaped}" style="direction: ltr">'
        + f"<title>{escaped}</title>"
        + drawn[opening + 1 :]
    )


def svg(chart: Drawable) -> str:
    """The chart drawn from its spec (``spec_svg``)."""
    return spec_svg(chart.spec, chart.alt)


@dataclass(frozen=True)
class AssessmentChart:
    """The bar chart of an assessment's area scores; ``unscored``: the areas it leaves out."""

    spec: dict[str, Any]
    alt: str
    unscored: list[DocumentScore]


#: The range of every score of an assessment (answers score 0 to 100).
SCORE_DOMAIN = (0, 100)
#: An area's name is an axis label of lines this long at most: Vega measures its texts with
#: its own fonts, a browser with others, and a long line could run past the chart's edge.
AREA_LABEL_LINE = 22
#: The chart's title (the framework's and the city's names) in lines this long at most.
ASSESSMENT_TITLE_LINE = 40
#: Room left of the plot for what Vega's measure of the labels leaves out.
AREA_LABEL_MARGIN = 24


def area_label(name: str) -> str:
    """An area's name broken into short lines (a line break between them) for the axis."""
    return "\n".join(textwrap.wrap(name, AREA_LABEL_LINE, break_long_words=False)) or name


def assessment_chart(
    assessment: DocumentAssessment, city_names: dict[str, str], city_code: str, loc: Localiser
) -> AssessmentChart:
    """A bar chart of the assessment's area scores, in the framework's order. An area with no
    score is left out (never drawn as 0): the alternative text and ``unscored`` name it."""
    areas = [score for score in assessment.scores if score.level == "area"]
    scored = [area for area in areas if area.score is not None]
    unscored = [area for area in areas if area.score is None]
    framework = loc.text(assessment.titles, assessment.framework)
    city = loc.text(city_names, city_code)
    as_of = loc.label("as_of", date=loc.date(assessment.reference_date))
    described = loc.label("group_separator").join(
        f"{loc.text(area.titles, area.code)}{loc.label('colon')}{loc.number(area.score)}"
        for area in scored
    )
    alt = loc.label(
        "assessment_chart_alt",
        framework=framework,
        city=city,
        as_of=as_of,
        count=loc.number(len(scored)),
        values=described,
    )
    if unscored:
        alt += " " + loc.label(
            "assessment_chart_unscored",
            areas=loc.label("list_separator").join(
                f"{loc.text(area.titles, area.code)} ({loc.label(f'reason_{area.reason}')})"
                if area.reason and has_label(f"reason_{area.reason}")
                else loc.text(area.titles, area.code)
                for area in unscored
            ),
        )
    score_title = loc.label("score_column")
    area_title = loc.label("area")
    spec: dict[str, Any] = {
        "$schema": VEGA_LITE_SCHEMA,
        "title": {
            "text": textwrap.wrap(f"{framework} — {city}", ASSESSMENT_TITLE_LINE),
            "subtitle": [f"{as_of} · {loc.label('version')} {assessment.version}"],
            "anchor": "end" if loc.direction == "rtl" else "start",
            "lineHeight": 20,
            "subtitleLineHeight": 16,
        },
        "description": alt,
        "width": WIDTH,
        "height": {"step": 36},
        "padding": {"left": AREA_LABEL_MARGIN, "top": 5, "right": 5, "bottom": 5},
        "data": {
            "values": [
                {
                    "area": area.code,
                    "area_name": loc.text(area.titles, area.code),
                    "area_label": area_label(loc.text(area.titles, area.code)),
                    "score": area.score,
                    "answered": area.answered,
                    "total": area.total,
                }
                for area in scored
            ]
        },
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "area_label",
                "type": "nominal",
                "sort": None,
                "title": area_title,
                "axis": {"labelExpr": "split(datum.value, '\\n')", "labelLimit": 0},
            },
            "x": {
                "field": "score",
                "type": "quantitative",
                "title": score_title,
                "scale": {"domain": list(SCORE_DOMAIN)},
            },
            "tooltip": [
                {"field": "area_name", "type": "nominal", "title": area_title},
                {"field": "score", "type": "quantitative", "title": score_title},
            ],
        },
        "usermeta": {
            "city": city_code,
            "framework": assessment.framework,
            "version": assessment.version,
            "reference_date": assessment.reference_date.isoformat(),
            "language": loc.language,
            "unscored": [{"area": area.code, "reason": area.reason} for area in unscored],
        },
    }
    return AssessmentChart(spec, alt, unscored)


@dataclass(frozen=True)
class ComparedBar:
    """One compared city's value, as the comparison read it for the caller."""

    city: str
    city_names: dict[str, str]
    indicator: DocumentIndicator | None
    period: str | None
    value: float | None
    estimate: bool
    source: str | None


def compare_chart(bars: list[ComparedBar], warnings: list[str], loc: Localiser) -> dict[str, Any]:
    """A bar chart of the compared cities' values, with the comparability warnings."""
    first = next((bar.indicator for bar in bars if bar.indicator is not None), None)
    name = loc.text(first.names, first.code) if first else ""
    unit = loc.unit(first.unit) if first else ""
    shown = [bar for bar in bars if bar.value is not None]
    described = "; ".join(
        f"{loc.text(bar.city_names, bar.city)} "
        + (f"{loc.number(bar.value)} ({loc.period(bar.period)})" if bar.period else "")
        if bar.value is not None
        else f"{loc.text(bar.city_names, bar.city)} {loc.label('no_value')}"
        for bar in bars
    )
    alt = loc.label("compare_alt", indicator=name, count=loc.number(len(bars)), values=described)
    if warnings:
        alt += f" {loc.label('warnings')}: " + " ".join(warnings)
    sources = list(dict.fromkeys(bar.source for bar in shown if bar.source))
    subtitle = [f"{loc.label('unit')}: {unit}"]
    if sources:
        subtitle.append(f"{loc.label('source')}: {'; '.join(sources)}")
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "title": {
            "text": loc.label("compare_title", indicator=name),
            "subtitle": subtitle,
            "anchor": "end" if loc.direction == "rtl" else "start",
            "lineHeight": 20,
            "subtitleLineHeight": 16,
        },
        "description": alt,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {
            "values": [
                {
                    "city": bar.city,
                    "city_name": loc.text(bar.city_names, bar.city),
                    "indicator": bar.indicator.code if bar.indicator else None,
                    "period": bar.period,
                    "value": bar.value,
                    "estimate": bar.estimate,
                    "source": bar.source,
                }
                for bar in shown
            ]
        },
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "city_name",
                "type": "nominal",
                "sort": None,
                "title": loc.label("city"),
            },
            "y": {"field": "value", "type": "quantitative", "title": unit},
            "opacity": {"condition": {"test": "datum.estimate", "value": 0.5}, "value": 1},
            "tooltip": [
                {"field": "city_name", "type": "nominal", "title": loc.label("city")},
                {"field": "period", "type": "nominal", "title": loc.label("year")},
                {"field": "value", "type": "quantitative", "title": loc.label("value")},
                {"field": "source", "type": "nominal", "title": loc.label("source")},
            ],
        },
        "usermeta": {
            "cities": [bar.city for bar in bars],
            "unit": first.unit.value if first else None,
            "language": loc.language,
            "warnings": warnings,
        },
    }
