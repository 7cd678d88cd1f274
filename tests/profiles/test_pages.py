"""Profiles' public HTML pages: the cities' index with their coverage, a city's profile page,
its editions and the compare page, in en, fr and ar, each with the JSON it was built from."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from babel.numbers import format_decimal
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncConnection

from services.profiles_api.app import create_app
from tests.conftest import client_in_transaction, make_settings
from tests.factories import Api, assert_problem, error_fields, new_city, observation

CITY = "PTLIS"
LANGUAGES = [("en", "ltr"), ("fr", "ltr"), ("ar", "rtl")]
COMPARE = "/compare?indicator=foreign_nationals&cities=ESMAD,PTLIS,ITTRN"
HOSTILE = "<script>alert('x')</script> Ville"


async def page(api: Api, url: str, **kwargs: Any) -> httpx.Response:
    response = await api.get(url, **kwargs)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:500]}"
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return response


def html_tag(text: str) -> str:
    found = re.search(r"<html[^>]*>", text)
    assert found, text[:200]
    return found[0]


def alternates(text: str) -> list[str]:
    return re.findall(r'<link rel="alternate" type="application/json" href="([^"]+)"', text)


def headings(text: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[\s>]", text)]


def assert_well_formed(text: str, language: str, direction: str) -> None:
    """One h1, headings never skipping a level, the language's lang and dir, a switch to every
    language, and a visible link to each JSON document the page names."""
    assert html_tag(text) == f'<html lang="{language}" dir="{direction}">', html_tag(text)
    levels = headings(text)
    assert levels.count(1) == 1 and levels[0] == 1, levels
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    for tag in ("en", "fr", "ar"):
        assert f'hreflang="{tag}"' in text
    json_links = alternates(text)
    assert json_links, "no JSON alternate"
    for href in json_links:
        assert text.count(f'href="{href}"') >= 2, f"{href} is not linked visibly"
    assert "<script" not in text, "the pages need no script"


@pytest.mark.parametrize(("language", "direction"), LANGUAGES)
async def test_the_index_lists_every_city_with_its_coverage_in_each_language(
    api: Api, language: str, direction: str
) -> None:
    response = await page(api, f"/?lang={language}")
    text = response.text
    assert_well_formed(text, language, direction)
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()
    assert "/v1/cities" in alternates(text)
    cities = (await api.get("/v1/cities?limit=100", headers={"Accept-Language": language})).json()
    for city in cities["items"]:
        assert escape(city["name"]) in text, city["name"]
        assert f'href="/cities/{city["code"]}?lang={language}"' in text, city["code"]
    profile = (await api.get(f"/v1/cities/{CITY}/profile")).json()
    row = text[text.index(f'href="/cities/{CITY}?') :]
    row = row[: row.index("</tr>")]
    for theme in profile["coverage"]:
        cell = re.search(rf'data-theme="{theme["theme"]}">([^<]*)<', row)
        assert cell, theme
        numbers = [format_decimal(theme[k], locale=language) for k in ("with_data", "indicators")]
        assert all(number in cell[1] for number in numbers), (theme, cell[1])


async def test_the_language_is_the_query_s_then_accept_language_s(api: Api) -> None:
    by_header = await page(api, "/", headers={"Accept-Language": "ar, fr;q=0.5"})
    assert html_tag(by_header.text) == '<html lang="ar" dir="rtl">'
    by_query = await page(api, "/?lang=fr", headers={"Accept-Language": "ar"})
    assert html_tag(by_query.text) == '<html lang="fr" dir="ltr">'
    assert by_query.headers["content-language"] == "fr"
    neither = await page(api, "/", headers={"Accept-Language": "de"})
    assert html_tag(neither.text) == '<html lang="en" dir="ltr">'
    # The switch keeps the page's other parameters and changes the language only.
    compare = await page(api, COMPARE + "&lang=en")
    assert (
        'href="/compare?indicator=foreign_nationals&amp;cities=ESMAD%2CPTLIS%2CITTRN&amp;lang=ar"'
        in (compare.text)
    )


async def test_a_bad_language_is_a_422_naming_lang(api: Api) -> None:
    for url in ("/?lang=%3Cx%3E", f"/cities/{CITY}?lang=1", f"{COMPARE}&lang=english!"):
        assert error_fields(assert_problem(await api.get(url), 422)) == {"lang"}, url


@pytest.mark.parametrize(("language", "direction"), LANGUAGES)
async def test_a_city_page_is_its_live_report_with_the_site_around_it(
    api: Api, language: str, direction: str
) -> None:
    response = await page(api, f"/cities/{CITY}?lang={language}")
    text = response.text
    assert_well_formed(text, language, direction)
    assert f"/v1/cities/{CITY}/profile" in alternates(text)
    assert f'href="/cities/{CITY}/editions?lang={language}"' in text
    assert 'href="/?lang=' in text and 'href="/compare?lang=' in text and 'href="/events?' in text
    city = (await api.get(f"/v1/cities/{CITY}", headers={"Accept-Language": language})).json()
    assert city["name"] in text
    assert text.index('class="site-header"') < text.index("<h1>"), "navigation comes first"


async def test_an_unknown_city_s_pages_are_404_problems(api: Api) -> None:
    for url in ("/cities/XXABC", "/cities/XXABC/editions"):
        assert_problem(await api.get(url), 404)
    assert_problem(await api.get("/cities/lisbon"), 422)


async def test_the_editions_page_lists_published_and_withdrawn_editions(api: Api) -> None:
    first = await api.post(f"/v1/cities/{CITY}/editions", role=Api.ADMIN)
    second = await api.post(f"/v1/cities/{CITY}/editions", role=Api.ADMIN)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    withdrawn, kept = first.json()["id"], second.json()["id"]
    reason = "A figure was mis-keyed <b>badly</b>."
    gone = await api.post(
        f"/v1/editions/{withdrawn}/withdrawal", role=Api.ADMIN, json={"reason": reason}
    )
    assert gone.status_code == 200, gone.text

    for language, direction in LANGUAGES:
        text = (await page(api, f"/cities/{CITY}/editions?lang={language}")).text
        assert_well_formed(text, language, direction)
        assert f"/v1/cities/{CITY}/editions" in alternates(text)
        assert f'href="/v1/editions/{kept}/report?lang={language}"' in text
        assert f'href="/v1/editions/{kept}/report.pdf?lang={language}"' in text
        assert second.json()["content_hash"] in text, "the citation names the hash"
        assert f'<bdi dir="ltr">{kept}</bdi></h2>' in text
        assert text.index(f'id="{kept}"') < text.index(f'id="{withdrawn}"'), "newest first"
        past = text[text.index(f'id="{withdrawn}"') :]
        assert 'class="withdrawn"' in past and escape(reason) in past
        assert f"/v1/editions/{withdrawn}/report" not in text, "a withdrawn report is not offered"
        assert "<b>badly</b>" not in text
    report = await api.get(f"/v1/editions/{kept}/report?lang=ar")
    assert report.status_code == 200 and '<html lang="ar" dir="rtl">' in report.text


async def test_a_city_without_editions_says_so(api: Api) -> None:
    text = (await page(api, "/cities/JOAMM/editions?lang=fr")).text
    assert "Aucune édition n'a encore été publiée." in html.unescape(text)


async def test_hostile_names_are_escaped_on_every_page(api: Api) -> None:
    created = await api.post(
        "/v1/cities", role=Api.ADMIN, json=new_city(names={"en": HOSTILE, "fr": HOSTILE})
    )
    assert created.status_code == 201, created.text
    for url in (
        "/",
        "/cities/GRATH",
        "/cities/GRATH/editions",
        "/compare?indicator=foreign_nationals&cities=GRATH",
    ):
        text = (await page(api, url)).text
        assert "<script>" not in text, url
        assert escape(HOSTILE) in text, url


async def test_the_compare_page_without_a_choice_is_the_form(api: Api) -> None:
    text = (await page(api, "/compare?lang=ar")).text
    assert_well_formed(text, "ar", "rtl")
    assert '<form method="get" action="/compare">' in text
    assert 'name="indicator"' in text and 'name="cities" value="PTLIS"' in text
    assert "<svg" not in text


@pytest.mark.parametrize(("language", "direction"), LANGUAGES)
async def test_the_compare_page_shows_the_comparison_its_chart_and_warnings(
    api: Api, language: str, direction: str
) -> None:
    estimate = observation(city="ESMAD", period="2024", value=500000, obs_status="E")
    written = await api.post("/v1/observations", role=Api.ADMIN, json={"observations": [estimate]})
    assert written.status_code == 200, written.text
    response = await page(api, f"{COMPARE}&lang={language}")
    text = response.text
    assert_well_formed(text, language, direction)
    query = "indicator=foreign_nationals&amp;cities=ESMAD%2CPTLIS%2CITTRN"
    assert f"/v1/compare?{query}".replace("&amp;", "&") in [
        href.replace("&amp;", "&") for href in alternates(text)
    ]
    compared = (
        await api.get(
            "/v1/compare?indicator=foreign_nationals&cities=ESMAD,PTLIS,ITTRN",
            headers={"Accept-Language": language},
        )
    ).json()
    for value in compared["values"]:
        cell = re.search(rf'data-city="{value["city"]}">(.*?)</td>', text)
        assert cell, value["city"]
        if value["value"] is not None:
            shown = format_decimal(value["value"], format="#,##0.##", locale=language)
            assert shown in cell[1], (value, cell[1])
        assert escape(value["city_name"]) in text
    svg = re.search(r"<svg[^>]*>", text)
    assert svg and 'role="img"' in svg[0] and 'aria-label="' in svg[0], svg
    assert "estimate" in {warning["kind"] for warning in compared["warnings"]}, compared
    # The warnings are said in the page's language (the API's `detail` is English).
    said = {
        "en": "Estimates, not counts: ESMAD.",
        "fr": "Estimations, non des comptages : ESMAD.",
        "ar": "تقديرات وليست أعداداً: ESMAD.",
    }
    assert said[language] in text, re.findall(r'<li class="warning">.*?</li>', text)
    if language != "en":
        assert "Estimates, not counts" not in text
    assert 'value="ESMAD" checked' in text and 'value="JOAMM" checked' not in text


async def test_the_compare_page_refuses_bad_choices_naming_the_parameter(api: Api) -> None:
    cases = {
        "/compare?indicator=no_such_indicator&cities=PTLIS": "indicator",
        "/compare?indicator=foreign_nationals&cities=XXABC": "cities",
        "/compare?indicator=foreign_nationals": "cities",
        "/compare?cities=PTLIS": "indicator",
        "/compare?indicator=&cities=PTLIS": "indicator",
        "/compare?indicator=foreign_nationals&cities="
        + ",".join(["PTLIS"] * 2 + [f"X{i:04d}" for i in range(60)]): "cities",
    }
    for url, parameter in cases.items():
        problem = assert_problem(await api.get(url), 422)
        assert error_fields(problem) == {parameter}, (url, problem)


@pytest.fixture(scope="module")
async def prefixed_app(database_url: str, server_urls: tuple[str, str]) -> AsyncIterator[FastAPI]:
    """The profiles app served under /profiles, as behind the proxy and the Ingress."""
    app = create_app(make_settings(database_url, server_urls[1], root_path="/profiles"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.mark.parametrize("path", ["/cities/PTLIS/editions", "/profiles/cities/PTLIS/editions"])
async def test_under_a_prefix_pages_link_to_pages_at_the_root_and_to_the_prefixed_json(
    prefixed_app: FastAPI, connection: AsyncConnection, path: str
) -> None:
    settings = prefixed_app.state.settings
    async with client_in_transaction(prefixed_app, connection, settings, "http://x.test") as api:
        text = (await page(api, f"{path}?lang=fr")).text
    assert alternates(text) == ["/profiles/v1/cities/PTLIS/editions"], alternates(text)
    assert 'href="/cities/PTLIS/editions?lang=ar"' in text, "the language switch"
    assert 'href="/compare?lang=fr"' in text and 'href="/events?lang=fr"' in text
    assert 'href="/profiles/cities' not in text and 'href="/profiles/compare' not in text


@pytest.fixture(scope="module")
async def own_port_app(database_url: str, server_urls: tuple[str, str]) -> AsyncIterator[FastAPI]:
    """The profiles app on a port of its own, the dialogue's pages on another (``make dev``)."""
    app = create_app(
        make_settings(
            database_url,
            server_urls[1],
            profiles_pages_url="http://127.0.0.1:8001",
            dialogue_pages_url="http://127.0.0.1:8002/",
        )
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_on_ports_of_their_own_pages_link_to_each_services_address(
    own_port_app: FastAPI, connection: AsyncConnection
) -> None:
    settings = own_port_app.state.settings
    async with client_in_transaction(own_port_app, connection, settings, "http://x.test") as api:
        text = (await page(api, "/cities/PTLIS?lang=ar")).text
    assert 'href="http://127.0.0.1:8002/events?lang=ar"' in text, "the calendar, on dialogue's"
    assert 'href="http://127.0.0.1:8001/compare?lang=ar"' in text
    assert 'href="http://127.0.0.1:8001/cities/PTLIS/editions?lang=ar"' in text
    assert alternates(text) == ["/v1/cities/PTLIS/profile"], alternates(text)
