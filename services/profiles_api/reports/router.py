from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.compare.router import MAX_COMPARED
from services.profiles_api.editions.router import GONE
from services.profiles_api.editions.schemas import EditionIdPath
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import PERIOD_PATTERN, FieldProblem
from services.profiles_api.observations.query import parse_period_bound, split_values
from services.profiles_api.reports import service
from services.profiles_api.reports.labels import report_language
from services.profiles_api.reports.requests import queue_of
from services.profiles_api.reports.service import RETRY_AFTER_SECONDS
from shared.db import PrimarySessionDep, SessionDep
from shared.errors import invalid
from shared.i18n import LANGUAGE_TAG_PATTERN, Languages, LanguagesDep
from shared.negotiation import preferred_media_type
from shared.openapi import problem_responses
from shared.params import CityCodePath
from shared.settings import Settings

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


_HTML = "text/html"
_PDF = "application/pdf"
_REPORT_CONTENT: dict[str, Any] = {
    _HTML: {"schema": {"type": "string"}},
    _PDF: {"schema": {"type": "string", "format": "binary"}},
}
_RENDERING: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The PDF is being rendered: ask again after `Retry-After` seconds.",
        "content": {
            "application/json": {
                "example": {"edition": "TNTUN-2026-1", "language": "ar", "status": "rendering"}
            }
        },
    },
    503: {"description": "The PDF could not be rendered (the problem names the error)."},
}
_EDITION_REPORT = (
    "The report of a published edition, frozen as the edition holds it, in `en`, `fr` or `ar` "
    "(right to left), by `?lang=` or `Accept-Language`; a text missing in the language is "
    "shown in the next of the fallback chain with a note. The cover cites the edition (id, "
    "date, address, content hash). "
)


def _root(request: Request) -> str:
    """The platform's public address, for the citation on a report's cover: the setting, or
    paths only (as the worker writes them), never the Host a caller sent."""
    public_url: str | None = request.app.state.settings.public_url
    return public_url or ""


async def _html(
    request: Request, session: AsyncSession, edition_id: str, language: str
) -> Response:
    page = await service.edition_report_html(session, edition_id, language, root=_root(request))
    return HTMLResponse(
        page, headers={"Content-Language": language, "Vary": "Accept, Accept-Language"}
    )


async def _pdf(request: Request, session: AsyncSession, edition_id: str, language: str) -> Response:
    settings: Settings = request.app.state.settings
    redis: Redis | None = request.app.state.redis
    enqueue = queue_of(redis, settings.queue_name) if redis is not None else None
    outcome = await service.edition_pdf(
        session,
        edition_id,
        language,
        enqueue=enqueue,
        wait_seconds=settings.report_wait_seconds,
        max_failures=settings.report_max_failures,
    )
    if outcome.pdf is None:
        return JSONResponse(
            {"edition": edition_id, "language": language, "status": "rendering"},
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Content-Language": language},
        )
    return Response(
        outcome.pdf,
        media_type=_PDF,
        headers={
            "ETag": f'"{outcome.pdf_hash}"',
            "Content-Language": language,
            "Content-Disposition": f'inline; filename="{edition_id}-{language}.pdf"',
            "Vary": "Accept, Accept-Language",
        },
    )


@router.get(
    "/editions/{edition_id}/report",
    summary="An edition's report (HTML or PDF)",
    description=_EDITION_REPORT + "HTML (`text/html`, the default) or PDF (`application/pdf`) "
    "by `Accept`; `report.html` and `report.pdf` name the format in the path. A PDF is "
    "rendered once per language by the worker and kept: while it renders the answer is 202 "
    "with `Retry-After`.",
    response_class=Response,
    responses={
        200: {"description": "The report.", "content": _REPORT_CONTENT},
        **_RENDERING,
        **problem_responses(404),
        **GONE,
    },
)
async def get_edition_report(
    edition_id: EditionIdPath,
    request: Request,
    session: PrimarySessionDep,  # asks the worker for a PDF it lacks: a write
    languages: LanguagesDep,
    lang: LangQuery = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    language = _language(lang, languages)
    if preferred_media_type(accept, [_HTML, _PDF]) == _PDF:
        return await _pdf(request, session, edition_id, language)
    return await _html(request, session, edition_id, language)


@router.get(
    "/editions/{edition_id}/report.html",
    summary="An edition's report as HTML",
    description=_EDITION_REPORT,
    response_class=HTMLResponse,
    responses={
        200: {"description": "The report.", "content": {_HTML: _REPORT_CONTENT[_HTML]}},
        **problem_responses(404),
        **GONE,
    },
)
async def get_edition_report_html(
    edition_id: EditionIdPath,
    request: Request,
    session: SessionDep,
    languages: LanguagesDep,
    lang: LangQuery = None,
) -> Response:
    return await _html(request, session, edition_id, _language(lang, languages))


@router.get(
    "/editions/{edition_id}/report.pdf",
    summary="An edition's report as PDF",
    description=_EDITION_REPORT + "Rendered once per language by the worker and kept: while "
    "it renders the answer is 202 with `Retry-After`.",
    response_class=Response,
    responses={
        200: {"description": "The report.", "content": {_PDF: _REPORT_CONTENT[_PDF]}},
        **_RENDERING,
        **problem_responses(404),
        **GONE,
    },
)
async def get_edition_report_pdf(
    edition_id: EditionIdPath,
    request: Request,
    session: PrimarySessionDep,  # asks the worker for a PDF it lacks: a write
    languages: LanguagesDep,
    lang: LangQuery = None,
) -> Response:
    return await _pdf(request, session, edition_id, _language(lang, languages))
