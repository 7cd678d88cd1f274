"""The report as PDF: the report's view (``render.report_view``) laid out by Typst.

The same contents in the same order as the HTML report. Pure and reproducible: the texts go to
Typst as JSON data and the charts as SVG, all in memory (``sys.inputs``), never as markup, so a
narrative's ``#``, ``$`` or ``[`` print as written; the fonts are the repository's own
(``fonts/``, DejaVu Sans: Latin and shaped Arabic), never the machine's; the PDF's dates are the
document's, so one document renders to the same bytes anywhere.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import typst

from services.profiles_api.reports.charts import Drawable
from services.profiles_api.reports.document import ReportDocument
from services.profiles_api.reports.labels import has_label
from services.profiles_api.reports.localise import Localiser, Picked
from services.profiles_api.reports.render import (
    ReportView,
    SectionView,
    paragraph_runs,
    report_view,
)

_HERE = Path(__file__).parent
FONTS = _HERE / "fonts"
TEMPLATES = _HERE / "templates"
#: The report's own words the layout uses (``labels.py`` keys); ``nothing`` is ``none``, a
#: word Typst keeps for itself.
_WORDS = (
    "colon",
    "report",
    "preview",
    "network",
    "contents",
    "key_figures",
    "data",
    "year",
    "source",
    "themes",
    "no_narrative",
    "challenges",
    "no_challenges",
    "theme",
    "need",
    "priority",
    "reflections",
    "sources",
    "edition",
    "citation",
    "content_hash",
    "assessments",
    "version",
    "area",
    "score_column",
    "completeness",
    "unscored",
    "framework_model",
)
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_TEXT = re.compile(r"(<text\b[^>]*>)(.*?)(?=</text>)", re.S)
_LINE = re.compile(r'<tspan((?: [a-z-]+="[^"]*")*)>')
_DY = re.compile(r' dy="(-?[0-9.]+)"')


def render_pdf(
    document: ReportDocument,
    language: str,
    *,
    preview: bool,
    draw: Callable[[Drawable], str],
) -> bytes:
    """The report of ``document`` in ``language`` as PDF; ``draw`` turns a chart into SVG."""
    view = report_view(document, language, preview=preview, draw=draw)
    return layout_pdf(view, created=document.generated_at)


def layout_pdf(view: ReportView, *, created: datetime) -> bytes:
    """The report's view laid out as PDF, dated ``created`` (its metadata and identifier)."""
    report, charts = report_data(view)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return typst.compile(
        TEMPLATES / "report.typ",
        root=TEMPLATES,
        font_paths=_fonts(),
        ignore_system_fonts=True,
        format="pdf",
        sys_inputs={"report": json.dumps(report, ensure_ascii=False), **charts},
        timestamp=int(created.timestamp()),
    )


@cache
def _fonts() -> typst.Fonts:
    # Read once per process: parsing them is about a third of a small report's layout time.
    return typst.Fonts(
        include_system_fonts=False,
        include_embedded_fonts=True,
        font_paths=[str(FONTS)],
    )


def report_data(view: ReportView) -> tuple[dict[str, Any], dict[str, str]]:
    """The view as the Typst layout reads it: its texts as JSON data, and the charts' SVG by
    the key the data names them with."""
    loc = view.loc
    cover = view.cover
    charts: dict[str, str] = {}
    themes = []
    for theme in view.themes:
        if theme.section is None and not theme.charts:
            continue
        keys = []
        for chart in theme.charts:
            key = f"chart-{len(charts)}"
            charts[key] = absolute_lines(str(chart.svg))
            keys.append({"key": key, "alt": _flat(chart.alt)})
        themes.append({"name": theme.name, "section": _section(theme.section, loc), "charts": keys})
    assessments = []
    for assessment in view.assessments:
        drawn = None
        if assessment.chart is not None:
            key = f"chart-{len(charts)}"
            charts[key] = absolute_lines(str(assessment.chart.svg))
            drawn = {"key": key, "alt": _flat(assessment.chart.alt)}
        assessments.append(
            {
                "title": _picked(assessment.title, loc),
                "version": assessment.version,
                "as_of": assessment.as_of,
                "not_rankable": assessment.not_rankable,
                "chart": drawn,
                "unscored": [_flat(line) for line in assessment.unscored],
                "rows": [
                    {
                        "area": _picked(row.area, loc),
                        "score": row.score,
                        "scored": row.scored,
                        "completeness": row.completeness,
                    }
                    for row in assessment.rows
                ],
                "model": _flat(assessment.model),
                "model_dir": _direction(assessment.model),
            }
        )
    city = _flat(cover.city.text)
    labels = {word: loc.label(word) for word in _WORDS}
    labels["nothing"] = loc.label("none")
    labels["page"] = loc.label("page", page="{page}", pages="{pages}")
    report = {
        "language": loc.language,
        "rtl": loc.direction == "rtl",
        "title": f"{loc.label('report')}{loc.label('colon')}{city}",
        "footer": " — ".join(
            [city, cover.edition or "", loc.label("preview") if view.preview else ""]
        ).strip(" —"),
        "preview": view.preview,
        "labels": labels,
        "cover": {
            "city": _picked(cover.city, loc),
            "edition": cover.edition,
            "generated": loc.label("generated", date=cover.generated),
            "citation": _flat(cover.citation) if cover.citation else None,
            "content_hash": cover.content_hash,
        },
        "synopsis": _section(view.synopsis, loc),
        "figures": [
            {
                "data": _picked(row.data, loc),
                "value": row.value,
                "year": row.year,
                "source": _flat(row.source),
                "source_dir": _direction(row.source),
                "note": _flat(row.note) if row.note else None,
                "note_dir": _direction(row.note),
            }
            for row in view.figures
        ],
        "national_context": _section(view.national_context, loc),
        "themes": themes,
        "challenges": [
            {
                "need": loc.label(need) if has_label(need) else need,
                "items": [
                    {
                        "theme": item.theme,
                        "description": _picked(item.description, loc),
                        "priority": item.priority,
                        "high": item.priority_code == "high",
                    }
                    for item in items
                ],
            }
            for need, items in view.challenges.items()
        ],
        "assessments": assessments,
        "data_reflections": _section(view.data_reflections, loc),
        "reflections": [
            {"title": loc.label(key), "lines": lines} for key, lines in view.reflections.groups()
        ],
        "sources": [
            {
                "title": _flat(source.title),
                "dir": _direction(source.title),
                "publisher": _flat(source.publisher) if source.publisher else None,
                "url": source.url,
                "link": source.link,
                "accessed": source.accessed,
            }
            for source in view.sources
        ],
    }
    return report, charts


def absolute_lines(svg: str) -> str:
    """The SVG with each line of a multi-line text placed at its own ``y`` rather than
    ``dy`` below the previous one (as Vega writes them): Typst's SVG reader lays out a
    right-to-left line placed by ``dy`` out of order (``المصدر: Mayors…`` came out cut in
    two), and one placed by ``y`` in order. Texts that have a ``y`` of their own are kept."""

    def lines(match: re.Match[str]) -> str:
        opening, body = match.group(1), match.group(2)
        if " y=" in opening or "<tspan" not in body or " y=" in body:
            return match.group(0)
        offset = 0.0

        def line(tspan: re.Match[str]) -> str:
            nonlocal offset
            attributes = tspan.group(1)
            shift = _DY.search(attributes)
            if shift:
                offset += float(shift.group(1))
                attributes = _DY.sub("", attributes)
            return f'<tspan{attributes} y="{offset:g}">'

        return opening + _LINE.sub(line, body)

    return _TEXT.sub(lines, svg)


def _direction(text: str | None) -> str | None:
    """The direction of a text by its first strong character (as HTML's ``dir="auto"``)."""
    for character in text or "":
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


def _flat(text: str) -> str:
    """A text on one line: its line breaks and runs of spaces as single spaces (as HTML)."""
    return " ".join(text.split())


def _picked(picked: Picked, loc: Localiser) -> dict[str, Any]:
    code = picked.language.split("-")[0].lower()
    return {
        "text": _flat(picked.text),
        "lang": code if _LANGUAGE_CODE.fullmatch(code) else loc.language,
        "fallback": picked.fallback,
        "note": loc.fallback_note(picked) if picked.fallback else None,
    }


def _section(section: SectionView | None, loc: Localiser) -> dict[str, Any] | None:
    if section is None:
        return None
    return {
        "title": _picked(section.title, loc),
        "narrative": _picked(section.narrative, loc),
        "paragraphs": [
            [
                {"text": run.text, "strong": run.strong, "emphasis": run.emphasis}
                for run in paragraph_runs(text)
            ]
            for text in section.texts
        ],
    }
