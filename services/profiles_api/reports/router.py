from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from services.profiles_api.compare.router import MAX_COMPARED
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import PERIOD_PATTERN, FieldProblem
from services.profiles_api.observations.query import parse_period_bound, split_values
from services.profiles_api.reports import service
from services.profiles_api.reports.labels import report_language
from shared.db import SessionDep
from shared.errors import invalid
from shared.i18n import LANGUAGE_TAG_PATTERN, Languages, LanguagesDep
from shared.openapi import problem_responses
from shared.params import CityCodePath

router = APIRouter(prefix="/v1", tags=["reports"])

IndicatorPath = Annotated[
    str, Path(max_length=64, description="An indicator code.", examples=["foreign_nationals"])
]
LangQuery = Annotated[
    str | None,
    Query(
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=16,
        description="The report's language (`en`, `fr` or `ar`); overrides `Accept-Language`.",
        examples=["ar"],
    ),
]

_SPEC_EXAMPLE = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "title": {"text": "Foreign nationals — Madrid", "subtitle": ["Unit: persons"]},
    "description": "Foreign nationals, Madrid: 2 values from 2015 to 2017; latest (2017): …",
    "data": {"values": [{"period": "2017", "value": 405233, "breakdown": "Total"}]},
    "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "period", "type": "ordinal"},
        "y": {"field": "value", "type": "quantitative"},
    },
}


def _language(lang: str | None, languages: Languages) -> str:
    """``?lang=`` first, then the caller's ``Accept-Language``; English otherwise."""
    return report_language(Languages.from_header(lang) if lang else languages)


@router.get(
    "/cities/{code}/charts/{indicator}",
    summary="A chart of one indicator for a city, as a Vega-Lite spec",
    description="A Vega-Lite v5 spec of the city's preferred values of the indicator over "
    "time, at its best-represented scope (breakdowns as colours), titled in the caller's "
    "language with its unit and sources, and with a text alternative in `description`. "
    "Small counts the caller may not see are left out (and counted in `usermeta`). Draw it "
    "with vega-embed; the report draws the same spec as SVG.",
    responses={
        200: {
            "description": "The chart's Vega-Lite spec.",
            "content": {"application/json": {"example": _SPEC_EXAMPLE}},
        },
        **problem_responses(404),
    },
)
async def get_indicator_chart(
    code: CityCodePath,
    indicator: IndicatorPath,
    session: SessionDep,
    reader: ReaderDep,
    languages: LanguagesDep,
    response: Response,
    lang: LangQuery = None,
) -> dict[str, Any]:
    language = _language(lang, languages)
    response.headers["Content-Language"] = language
    return await service.indicator_chart_spec(session, reader, code, indicator, language)


@router.get(
    "/cities/{code}/report",
    summary="A city's profile report, live preview (HTML)",
    description="The city's migration profile as a printable HTML report in `en`, `fr` or "
    "`ar` (right to left): cover, key figures, per theme its narrative and charts (SVG with "
    "text alternatives), challenges and needs, reflections on data and sources. Built from "
    "live data as the caller may see it, and marked as a preview that is not citable. A text "
    "missing in the language is shown in English with a note.",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "The report as HTML.",
            "content": {
                "text/html": {
                    "schema": {"type": "string"},
                    "example": '<!DOCTYPE html><html lang="ar" dir="rtl">…</html>',
                }
            },
        },
        **problem_responses(404),
    },
)
async def get_report_preview(
    code: CityCodePath,
    session: SessionDep,
    reader: ReaderDep,
    languages: LanguagesDep,
    lang: LangQuery = None,
) -> HTMLResponse:
    language = _language(lang, languages)
    page = await service.report_preview(session, reader, code, language)
    # Returned as is, so the header the language dependency set must be repeated here.
    return HTMLResponse(page, headers={"Content-Language": language, "Vary": "Accept-Language"})


#: The query parameter that names each field the comparison may find a problem with.
_FIELD_TO_PARAMETER = {"indicator": "indicator", "city": "cities"}


@router.get(
    "/compare/chart",
    summary="Cities compared on one measure, as a Vega-Lite spec",
    description="The comparison of `GET /v1/compare` (same parameters and rules) as a "
    "Vega-Lite v5 bar chart: one bar per city with a value (estimates drawn lighter), "
    "titled in the caller's language with unit and sources; the text alternative in "
    "`description` names every city's value and the comparability warnings, which "
    "`usermeta.warnings` lists too.",
    responses={
        200: {
            "description": "The chart's Vega-Lite spec.",
            "content": {"application/json": {"example": _SPEC_EXAMPLE}},
        },
        **problem_responses(),
    },
)
async def get_compare_chart(
    session: SessionDep,
    reader: ReaderDep,
    languages: LanguagesDep,
    response: Response,
    indicator: Annotated[
        list[str],
        Query(description="Indicator code(s), in order of preference, as `GET /v1/compare`."),
    ],
    cities: Annotated[
        list[str],
        Query(description=f"City codes (comma-separated or repeated); 1 to {MAX_COMPARED}."),
    ],
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Only values within this period.")
    ] = None,
    lang: LangQuery = None,
) -> dict[str, Any]:
    indicators = list(dict.fromkeys(split_values(indicator)))
    city_codes = list(dict.fromkeys(split_values(cities)))
    if not indicators:
        raise invalid("indicator", "name at least one indicator", location="query")
    if not city_codes or len(city_codes) > MAX_COMPARED:
        raise invalid("cities", f"name 1 to {MAX_COMPARED} cities", location="query")
    within = parse_period_bound("period", period)
    language = _language(lang, languages)
    response.headers["Content-Language"] = language
    try:
        return await service.compare_chart_spec(
            session,
            reader,
            indicators=indicators,
            cities=city_codes,
            period=within,
            language=language,
        )
    except FieldProblem as problem:
        parameter = _FIELD_TO_PARAMETER[problem.field]
        raise invalid(parameter, problem.message, location="query") from problem
