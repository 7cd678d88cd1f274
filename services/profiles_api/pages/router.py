"""Profiles' public pages: HTML for people who do not write code (no JavaScript needed).

``/`` the network's cities and their data coverage, ``/cities/{code}`` a city's profile (the
live report), ``/cities/{code}/editions`` its published editions, ``/compare`` cities side by
side. Each page is in ``?lang=`` or else the ``Accept-Language`` language (en, fr, ar), and
links to the JSON it was built from.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.compare.router import MAX_COMPARED
from services.profiles_api.editions import citation
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.query import split_values
from services.profiles_api.pages import service
from services.profiles_api.pages.labels import PROFILES_LABELS
from services.profiles_api.pages.render import TEMPLATES
from shared.contracts.themes import THEMES, Theme
from shared.db import SessionDep
from shared.errors import invalid
from shared.i18n import LanguagesDep
from shared.pages.layout import (
    Link,
    Page,
    PageLangQuery,
    html_response,
    page_language,
    page_responses,
    svg_markup,
)
from shared.params import CityCodePath

router = APIRouter(tags=["pages"])

_EXAMPLE = '<!DOCTYPE html><html lang="ar" dir="rtl">…</html>'
#: The query parameter that names each field the comparison may find a problem with.
_FIELD_TO_PARAMETER = {"indicator": "indicator", "city": "cities"}


def _page(request: Request, lang: str | None, languages: LanguagesDep, section: str) -> Page:
    return Page.of(
        request, page_language(lang, languages), section=section, labels=[PROFILES_LABELS]
    )


def _edition_url(request: Request, edition_id: str) -> str:
    """Where an edition is cited at, as ``GET /v1/editions/{id}/citation`` says."""
    public_url: str | None = request.app.state.settings.public_url
    if public_url:
        return citation.edition_url(public_url, edition_id)
    return str(request.url_for("get_edition", edition_id=edition_id))


async def _city_page(
    page: Page, session: AsyncSession, code: str, current: str, json_path: str
) -> tuple[Page, str]:
    """One of a city's pages (``current``: ``profile`` or ``editions``) with the links between
    them and to the JSON it is built from (``json_path``); the city's name in its language."""
    city = await service.city(session, code)
    name = page.text(city.names, code)
    page = page.with_related(
        Link(
            page.href(f"/cities/{code}"),
            f"{name}{page.label('colon')}{page.label('profile')}",
            current == "profile",
        ),
        Link(page.href(f"/cities/{code}/editions"), page.label("editions"), current == "editions"),
    )
    json_link = Link(page.api(json_path), page.label(f"{current}_json", city=name))
    return page.built_from(json_link), name


@router.get(
    "/",
    summary="The network's cities and their data coverage (HTML page)",
    description="A page listing every city of the network with its membership and, theme by "
    "theme, how many of the catalogue's indicators have data for it; each city links to its "
    "profile page and its editions. Built from `GET /v1/cities` and the coverage of "
    "`GET /v1/cities/{code}/profile`.",
    response_class=HTMLResponse,
    responses=page_responses(_EXAMPLE),
)
async def index_page(
    request: Request, session: SessionDep, languages: LanguagesDep, lang: PageLangQuery = None
) -> HTMLResponse:
    page = _page(request, lang, languages, "cities")
    page = page.built_from(Link(page.api("/v1/cities"), page.label("cities_json")))
    network = await service.network_coverage(session)
    themes = [(theme.value, page.text(THEMES[theme].names, theme.value)) for theme in Theme]
    return TEMPLATES.respond("index.html.j2", page, network=network, themes=themes)


@router.get(
    "/cities/{code}",
    summary="A city's profile (HTML page)",
    description="The city's migration profile as a page: the live report of "
    "`GET /v1/cities/{code}/report` (key figures, themes with their charts, challenges, "
    "reflections on data, sources) with the site's navigation, and links to its editions and "
    "to the JSON profile.",
    response_class=HTMLResponse,
    responses=page_responses(_EXAMPLE, 404),
)
async def city_page(
    code: CityCodePath,
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    languages: LanguagesDep,
    lang: PageLangQuery = None,
) -> HTMLResponse:
    page = _page(request, lang, languages, "cities")
    page, _ = await _city_page(page, session, code, "profile", f"/v1/cities/{code}/profile")
    report = await service.city_preview(session, reader, code, page.language)
    return html_response(TEMPLATES.around(report, page), page.language)


@router.get(
    "/cities/{code}/editions",
    summary="A city's published editions (HTML page)",
    description="The city's editions, newest first: id, date, links to each report (HTML and "
    "PDF, in the page's language) and how to cite it; withdrawn editions are shown as such "
    "with their reason and successor. Built from `GET /v1/cities/{code}/editions`.",
    response_class=HTMLResponse,
    responses=page_responses(_EXAMPLE, 404),
)
async def city_editions_page(
    code: CityCodePath,
    request: Request,
    session: SessionDep,
    languages: LanguagesDep,
    lang: PageLangQuery = None,
) -> HTMLResponse:
    page = _page(request, lang, languages, "cities")
    page, name = await _city_page(page, session, code, "editions", f"/v1/cities/{code}/editions")
    entries = await service.city_editions(
        session,
        code,
        city_name=lambda names: page.text(names, code),
        url_of=lambda edition_id: _edition_url(request, edition_id),
    )
    return TEMPLATES.respond(
        "editions.html.j2",
        page,
        city_name=name,
        entries=entries,
        more=len(entries) >= service.EDITIONS_SHOWN,
    )


@router.get(
    "/compare",
    summary="Cities compared on one measure (HTML page)",
    description="A form (indicator and cities, sent by GET, no JavaScript needed) and, once "
    "chosen, each city's latest value in a table and a bar chart (SVG with a text "
    "alternative), with the comparability warnings. Built from `GET /v1/compare/chart` (the "
    "same comparison as `GET /v1/compare`). Without parameters, the form alone; with some, "
    f"422 naming `indicator` or `cities` when they name no indicator, 0 or over {MAX_COMPARED} "
    "cities, or unknown ones.",
    response_class=HTMLResponse,
    responses=page_responses(_EXAMPLE),
)
async def compare_page(
    request: Request,
    session: SessionDep,
    reader: ReaderDep,
    languages: LanguagesDep,
    indicator: Annotated[
        list[str] | None,
        Query(description="Indicator code(s), in order of preference, as `GET /v1/compare`."),
    ] = None,
    cities: Annotated[
        list[str] | None,
        Query(description=f"City codes (comma-separated or repeated); 1 to {MAX_COMPARED}."),
    ] = None,
    lang: PageLangQuery = None,
) -> HTMLResponse:
    page = _page(request, lang, languages, "compare")
    choices = await service.compare_choices(session)
    chosen_indicators = list(dict.fromkeys(split_values(indicator or [])))
    chosen_cities = list(dict.fromkeys(split_values(cities or [])))
    page = page.built_from(Link(page.api("/v1/indicators"), page.label("indicators_json")))
    if indicator is None and cities is None:
        return TEMPLATES.respond(
            "compare.html.j2", page, choices=choices, chosen=None, chart=None, cities=[], codes=[]
        )
    if not chosen_indicators:
        raise invalid("indicator", "name at least one indicator", location="query")
    if not chosen_cities or len(chosen_cities) > MAX_COMPARED:
        raise invalid("cities", f"name 1 to {MAX_COMPARED} cities", location="query")
    try:
        chart = await service.compared(
            session,
            reader,
            indicators=chosen_indicators,
            cities=chosen_cities,
            language=page.language,
        )
    except FieldProblem as problem:
        parameter = _FIELD_TO_PARAMETER[problem.field]
        raise invalid(parameter, problem.message, location="query") from problem
    query = (("indicator", ",".join(chosen_indicators)), ("cities", ",".join(chosen_cities)))
    page = page.built_from(
        Link(page.api("/v1/compare", *query), page.label("compare_json")),
        Link(
            page.api("/v1/compare/chart", *query, ("lang", page.language)),
            page.label("compare_chart_json"),
        ),
    )
    names = {city.code: page.text(city.names, city.code) for city in choices.cities}
    values = {value["city"]: value for value in chart.spec["data"]["values"]}
    rows = [(code, names.get(code, code), values.get(code)) for code in chosen_cities]
    return TEMPLATES.respond(
        "compare.html.j2",
        page,
        choices=choices,
        chosen=chosen_indicators,
        codes=chosen_cities,
        chart=chart,
        svg=svg_markup(chart.svg) if chart.svg else None,
        cities=rows,
    )
