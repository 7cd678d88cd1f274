"""Assessments as Vega-Lite v5 bar charts, with the conventions of ``reports/charts.py``:
titles in the caller's language (en, fr, ar), the text alternative in ``description``, what
the chart is of and what it leaves out in ``usermeta``.

A score that is null (too few answers, or nothing applies) is not a 0: it is not drawn, and
``usermeta.left_out`` names it with its reason. Cities are drawn in the comparison's order:
by rank when the framework is rankable, as asked when it is not (never by score then).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from services.profiles_api.assessment_compare.schemas import AreaMedian, AssessmentComparison
from services.profiles_api.reports.charts import HEIGHT, VEGA_LITE_SCHEMA
from services.profiles_api.reports.localise import Localiser

if TYPE_CHECKING:
    from services.profiles_api.assessment_compare.schemas import ComparedScore
    from services.profiles_api.assessments.models import Assessment
    from services.profiles_api.frameworks.document import FrameworkDocument
    from services.profiles_api.frameworks.models import Framework

_LABELS: Final[dict[str, dict[str, str]]] = {
    "compare_title": {
        "en": "{framework}: areas compared",
        "fr": "{framework} : domaines comparés",
        "ar": "{framework}: مقارنة المجالات",
    },
    "assessment_title": {
        "en": "{framework}: {city} ({date})",
        "fr": "{framework} : {city} ({date})",
        "ar": "{framework}: {city} ({date})",
    },
    "area": {"en": "Area", "fr": "Domaine", "ar": "المجال"},
    "city": {"en": "City", "fr": "Ville", "ar": "المدينة"},
    "score": {"en": "Score (0-100)", "fr": "Score (0-100)", "ar": "الدرجة (0-100)"},
    "median": {"en": "Network median", "fr": "Médiane du réseau", "ar": "وسيط الشبكة"},
    "n": {"en": "Cities (n)", "fr": "Villes (n)", "ar": "عدد المدن (n)"},
    "no_score": {"en": "no score", "fr": "pas de score", "ar": "لا درجة"},
    "median_n": {
        "en": "median {median} (n = {n})",
        "fr": "médiane {median} (n = {n})",
        "ar": "الوسيط {median} (n = {n})",
    },
    "left_out": {
        "en": "{count} scores without a value are not drawn.",
        "fr": "{count} scores sans valeur ne sont pas dessinés.",
        "ar": "لم تُرسم {count} من الدرجات التي لا قيمة لها.",
    },
    "not_ranked": {
        "en": "Not rankable: cities in the order asked.",
        "fr": "Non classable : villes dans l'ordre demandé.",
        "ar": "غير قابل للترتيب: المدن بالترتيب المطلوب.",
    },
    "versions_differ": {
        "en": "Versions {versions} differ: scores over the questions they share.",
        "fr": "Les versions {versions} diffèrent : scores sur leurs questions communes.",
        "ar": "الإصداران {versions} مختلفان: الدرجات على الأسئلة المشتركة بينهما.",
    },
    "compare_alt": {
        "en": "Area scores of {framework} for {cities}. {areas}.",
        "fr": "Scores par domaine de {framework} pour {cities}. {areas}.",
        "ar": "درجات المجالات في {framework} لـ {cities}. {areas}.",
    },
    "assessment_alt": {
        "en": "Area scores of {city} in {framework} as of {date}, against the network median. "
        "{areas}.",
        "fr": "Scores par domaine de {city} dans {framework} au {date}, face à la médiane du "
        "réseau. {areas}.",
        "ar": "درجات مجالات {city} في {framework} بتاريخ {date}، مقارنة بوسيط الشبكة. {areas}.",
    },
}


def label(key: str, language: str, **values: object) -> str:
    texts = _LABELS[key]
    return (texts.get(language) or texts["en"]).format(**values)


def _title(text: str, subtitle: list[str], loc: Localiser) -> dict[str, Any]:
    return {
        "text": text,
        "subtitle": subtitle,
        "anchor": "end" if loc.direction == "rtl" else "start",
        "lineHeight": 20,
        "subtitleLineHeight": 16,
    }


def _bars(
    *,
    title: dict[str, Any],
    description: str,
    bars: list[dict[str, Any]],
    medians: list[AreaMedian],
    area_names: dict[str, str],
    city_order: list[str],
    loc: Localiser,
    usermeta: dict[str, Any],
) -> dict[str, Any]:
    """Areas along x; each city's bar side by side in ``city_order``; the median a tick."""
    language = loc.language
    median_rows = [
        {
            "kind": "median",
            "area": m.area,
            "area_name": area_names[m.area],
            "score": m.median,
            "n": m.n,
        }
        for m in medians
        if m.median is not None
    ]
    tooltip_area = {"field": "area_name", "type": "nominal", "title": label("area", language)}
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "title": title,
        "description": description,
        "width": {"step": max(28, 16 * len(city_order))},
        "height": HEIGHT,
        "data": {"values": [*bars, *median_rows]},
        "encoding": {
            "x": {
                "field": "area_name",
                "type": "nominal",
                # The framework's order of areas, never by score.
                "sort": [area_names[m.area] for m in medians],
                "title": label("area", language),
                "axis": {"labelAngle": -40, "labelLimit": 160},
            },
            "y": {
                "field": "score",
                "type": "quantitative",
                "scale": {"domain": [0, 100]},
                "title": label("score", language),
            },
        },
        "layer": [
            {
                "transform": [{"filter": "datum.kind === 'city'"}],
                "mark": {"type": "bar"},
                "encoding": {
                    "xOffset": {"field": "city_name", "type": "nominal", "sort": city_order},
                    "color": {
                        "field": "city_name",
                        "type": "nominal",
                        "sort": city_order,
                        "title": label("city", language),
                        "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 0},
                    },
                    "tooltip": [
                        {"field": "city_name", "type": "nominal", "title": label("city", language)},
                        tooltip_area,
                        {
                            "field": "score",
                            "type": "quantitative",
                            "title": label("score", language),
                        },
                    ],
                },
            },
            {
                "transform": [{"filter": "datum.kind === 'median'"}],
                "mark": {"type": "tick", "color": "#222222", "thickness": 2},
                "encoding": {
                    "tooltip": [
                        tooltip_area,
                        {
                            "field": "score",
                            "type": "quantitative",
                            "title": label("median", language),
                        },
                        {"field": "n", "type": "quantitative", "title": label("n", language)},
                    ]
                },
            },
        ],
        "usermeta": {"language": language, **usermeta},
    }


def _median_text(median: AreaMedian, loc: Localiser) -> str:
    return label("median_n", loc.language, median=loc.number(median.median), n=median.n)


def compare_chart(comparison: AssessmentComparison, language: str) -> dict[str, Any]:
    """The comparison's area scores, city by city, with the network's median per area."""
    loc = Localiser(language)
    framework = loc.text(comparison.framework.titles, comparison.framework.code)
    area_names = {m.area: loc.text(m.titles, m.area) for m in comparison.medians}
    city_order = [row.city_name for row in comparison.cities]
    bars: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for row in comparison.cities:
        by_area = {score.code: score for score in row.areas}
        for median in comparison.medians:
            score = by_area.get(median.area)
            if score is None or score.score is None:
                reason = (
                    "no_assessment"
                    if row.assessment is None
                    else (score.reason if score is not None and score.reason else "no_score")
                )
                left_out.append({"city": row.city, "area": median.area, "reason": reason})
                continue
            bars.append(
                {
                    "kind": "city",
                    "city": row.city,
                    "city_name": row.city_name,
                    "rank": row.rank,
                    "area": median.area,
                    "area_name": area_names[median.area],
                    "score": score.score,
                    "completeness": score.completeness,
                }
            )
    areas_text = "; ".join(
        f"{area_names[median.area]}: "
        + ", ".join(
            f"{row.city_name} {_area_text(row.areas, median.area, loc)}"
            for row in comparison.cities
        )
        + f", {_median_text(median, loc)}"
        for median in comparison.medians
    )
    description = label(
        "compare_alt",
        language,
        framework=framework,
        cities=loc.label("list_separator").join(city_order),
        areas=areas_text,
    )
    subtitle: list[str] = []
    if not comparison.ranked:
        subtitle.append(label("not_ranked", language))
    if len(comparison.versions) > 1:
        subtitle.append(label("versions_differ", language, versions=", ".join(comparison.versions)))
    if left_out:
        subtitle.append(label("left_out", language, count=len(left_out)))
    extra = " ".join(subtitle)
    return _bars(
        title=_title(label("compare_title", language, framework=framework), subtitle, loc),
        description=f"{description} {extra}".strip(),
        bars=bars,
        medians=comparison.medians,
        area_names=area_names,
        city_order=city_order,
        loc=loc,
        usermeta={
            "framework": comparison.framework.code,
            "versions": comparison.versions,
            "basis": comparison.basis.value,
            "ranked": comparison.ranked,
            "cities": [row.city for row in comparison.cities],
            "medians": [m.model_dump() for m in comparison.medians],
            "left_out": left_out,
            "warnings": [w.model_dump(mode="json") for w in comparison.warnings],
        },
    )


def _area_text(areas: list[ComparedScore], code: str, loc: Localiser) -> str:
    found = next((score for score in areas if score.code == code), None)
    if found is None or found.score is None:
        return label("no_score", loc.language)
    return loc.number(found.score)


def assessment_chart(
    *,
    city: str,
    city_names: Mapping[str, str],
    assessment: Assessment,
    framework: Framework,
    document: FrameworkDocument,
    scores: dict[str, ComparedScore],
    medians: list[AreaMedian],
    language: str,
) -> dict[str, Any]:
    """One assessment's area scores against the network's median per area."""
    loc = Localiser(language)
    name = loc.text(city_names, city)
    framework_name = f"{loc.text(framework.titles, framework.code)} {framework.version}"
    area_names = {area.code: loc.text(area.titles, area.code) for area in document.areas}
    bars: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for area in document.areas:
        score = scores.get(area.code)
        if score is None or score.score is None:
            reason = score.reason if score is not None and score.reason else "no_score"
            left_out.append({"city": city, "area": area.code, "reason": reason})
            continue
        bars.append(
            {
                "kind": "city",
                "city": city,
                "city_name": name,
                "area": area.code,
                "area_name": area_names[area.code],
                "score": score.score,
                "completeness": score.completeness,
            }
        )
    rows = list(scores.values())
    areas_text = "; ".join(
        f"{area_names[m.area]}: {_area_text(rows, m.area, loc)}, {_median_text(m, loc)}"
        for m in medians
    )
    when = loc.date(assessment.reference_date)
    description = label(
        "assessment_alt",
        language,
        city=name,
        framework=framework_name,
        date=when,
        areas=areas_text,
    )
    subtitle = [label("left_out", language, count=len(left_out))] if left_out else []
    return _bars(
        title=_title(
            label("assessment_title", language, framework=framework_name, city=name, date=when),
            subtitle,
            loc,
        ),
        description=f"{description} {' '.join(subtitle)}".strip(),
        bars=bars,
        medians=medians,
        area_names=area_names,
        city_order=[name],
        loc=loc,
        usermeta={
            "city": city,
            "assessment": assessment.id,
            "framework": framework.code,
            "version": framework.version,
            "status": str(assessment.status),
            "reference_date": assessment.reference_date.isoformat(),
            "medians": [m.model_dump() for m in medians],
            "left_out": left_out,
        },
    )
