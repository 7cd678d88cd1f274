"""The report preview (HTML in en, fr, ar) and its charts as Vega-Lite specs.

Tunis has narrative in English, French and Arabic in the demo data; these tests add a series of
foreign nationals to it (2019 and 2021, and breakdowns by citizenship in 2021).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import vl_convert
import yaml
from babel.numbers import format_decimal

from services.profiles_api import frameworks
from services.profiles_api.reports.localise import Localiser
from shared.auth import Role
from tests.factories import Api, assert_problem, new_city, observation

CITY = "TNTUN"
CHART = f"/v1/cities/{CITY}/charts/foreign_nationals"
REPORT = f"/v1/cities/{CITY}/report"
SOURCE = {
    "title": "Institut National de la Statistique, register extract (report test)",
    "publisher": "INS Tunisie",
    "url": "https://www.ins.tn/",
    "kind": "register",
}
#: The 2014 census population of Tunis, a key figure of the demo data.
POPULATION = 638845
SMALL_NOTE = "Three people from one village (report test)"


def tunis(period: str, value: float, **fields: Any) -> dict[str, Any]:
    return observation(
        city=CITY,
        indicator="foreign_nationals",
        period=period,
        value=value,
        source=SOURCE,
        **fields,
    )


@pytest.fixture
async def series(api: Api) -> None:
    """Foreign nationals in Tunis: totals for 2019 and 2021, two breakdowns in 2021 of which
    one is a small count (3)."""
    response = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={
            "observations": [
                tunis("2019", 9100),
                tunis("2021", 9800),
                tunis("2021", 1200, dimensions={"citizenship": "FR"}),
                tunis("2021", 3, dimensions={"citizenship": "SY"}, note=SMALL_NOTE),
            ]
        },
    )
    assert response.status_code == 200, response.text


async def report(api: Api, **kwargs: Any) -> httpx.Response:
    response = await api.get(REPORT, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return response


async def chart(api: Api, **kwargs: Any) -> dict[str, Any]:
    response = await api.get(CHART, **kwargs)
    assert response.status_code == 200, response.text
    spec: dict[str, Any] = response.json()
    return spec


def figures_of(page: str) -> list[str]:
    return re.findall(r'<figure class="chart".*?</figure>', page, flags=re.S)


@pytest.mark.usefixtures("series")
@pytest.mark.parametrize(
    ("language", "direction", "heading"),
    [
        ("en", "ltr", "Key figures"),
        ("fr", "ltr", "Chiffres clés"),
        ("ar", "rtl", "أرقام رئيسية"),
    ],
)
async def test_preview_is_in_the_language_asked_with_key_figures_and_charts(
    api: Api, language: str, direction: str, heading: str
) -> None:
    page = (await report(api, params={"lang": language})).text
    assert f'<html lang="{language}" dir="{direction}">' in page, page[:300]
    assert heading in page
    assert {"en": "not citable", "fr": "non citable", "ar": "غير قابلة للاستشهاد"}[language] in page
    population = format_decimal(POPULATION, format="#,##0.##", locale=language)
    assert population in page, (population, language)
    figures = figures_of(page)
    assert figures, "no chart in the report"
    for figure in figures:
        alt = re.search(
            r'<svg[^>]* role="img" aria-label="([^"]+)"[^>]*><title>([^<]+)</title>', figure
        )
        assert alt and alt.group(1) == alt.group(2), figure[:500]
        assert "<figcaption>" in figure


@pytest.mark.usefixtures("series")
async def test_accept_language_picks_the_report_language_and_lang_overrides_it(api: Api) -> None:
    arabic = await report(api, headers={"Accept-Language": "ar, en;q=0.5"})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert arabic.headers["content-language"] == "ar"
    french = await report(api, params={"lang": "fr"}, headers={"Accept-Language": "ar"})
    assert '<html lang="fr" dir="ltr">' in french.text
    # French typography: an unbreakable narrow space before a colon.
    assert re.search(r"<h1>Profil migratoire de la ville\u202f: [^<]+</h1>", french.text)


async def test_a_text_missing_in_the_language_falls_back_to_english_with_a_note(
    api: Api,
) -> None:
    description = "No interpreters at the municipal desk (English only)."
    created = await api.post(
        f"/v1/cities/{CITY}/challenges",
        role=Api.ADMIN,
        json={
            "theme": "intercultural",
            "need_type": "capabilities",
            "description": {"en": description},
            "priority": "high",
        },
    )
    assert created.status_code == 201, created.text
    page = (await report(api, params={"lang": "fr"})).text
    assert f'<span lang="en" dir="auto">{description}</span>' in page
    assert "Non disponible en français ; affiché en anglais." in page
    english = (await report(api, params={"lang": "en"})).text
    assert "Not available in English" not in english


@pytest.mark.usefixtures("series")
async def test_chart_is_a_vega_lite_spec_the_report_draws_as_svg(api: Api) -> None:
    spec = await chart(api, params={"lang": "fr"})
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    assert spec["mark"]["type"] == "line"
    assert {"x", "y"} <= spec["encoding"].keys()
    assert spec["title"]["text"].endswith("Tunis")
    assert any(SOURCE["title"] in line for line in spec["title"]["subtitle"]), spec["title"]
    assert any("personnes" in line for line in spec["title"]["subtitle"]), spec["title"]
    assert "Tunis" in spec["description"] and "2021" in spec["description"]
    totals = [v for v in spec["data"]["values"] if v["breakdown"] == "Total"]
    assert [(v["period"], v["value"]) for v in totals] == [("2019", 9100), ("2021", 9800)]
    drawn = vl_convert.vegalite_to_svg(spec)
    page = (await report(api, params={"lang": "fr"})).text
    # The report's SVG is drawn from the same spec: the same drawing after the opening tag.
    assert drawn[drawn.index(">") + 1 :] in page


@pytest.mark.usefixtures("series")
async def test_small_counts_are_not_shown_to_anonymous_readers(api: Api) -> None:
    spec = await chart(api)
    breakdowns = {value["breakdown"] for value in spec["data"]["values"]}
    # Breakdowns as a reader says them: the country named, not its code.
    assert "Citizenship: Syria" not in breakdowns and "Citizenship: France" in breakdowns
    assert spec["usermeta"]["suppressed"] == 1
    page = (await report(api)).text
    assert SMALL_NOTE not in page
    assert "1 breakdown values are not shown" in page
    admin_spec = await chart(api, role=Role.admin)
    seen = {value["breakdown"]: value["value"] for value in admin_spec["data"]["values"]}
    assert seen["Citizenship: Syria"] == 3, seen
    arabic = await chart(api, params={"lang": "ar"})
    assert "الجنسية: فرنسا" in {value["breakdown"] for value in arabic["data"]["values"]}


async def test_narrative_text_is_escaped(api: Api) -> None:
    city = new_city()
    created = await api.post("/v1/cities", role=Api.ADMIN, json=city)
    assert created.status_code == 201, created.text
    url = f"/v1/cities/{city['code']}/sections/health"
    attack = '**Care** <script>alert("x")</script><img src=x onerror=alert(1)>'
    written = await api.put(
        url, role=Api.ADMIN, json={"title": {"en": "Health"}, "narrative": {"en": attack}}
    )
    assert written.status_code == 201, written.text
    etag = written.headers["ETag"]
    for status in ("in_review", "published"):
        moved = await api.post(
            f"{url}/status", role=Api.ADMIN, headers={"If-Match": etag}, json={"status": status}
        )
        assert moved.status_code == 200, moved.text
        etag = moved.headers["ETag"]
    page = (await api.get(f"/v1/cities/{city['code']}/report")).text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    # The narratives' Markdown emphasis is the only markup made of them.
    assert "<strong>Care</strong>" in page


async def test_unknown_city_or_indicator_is_a_404_problem(api: Api) -> None:
    assert_problem(await api.get("/v1/cities/XXNOP/report"), 404)
    assert_problem(await api.get("/v1/cities/XXNOP/charts/foreign_nationals"), 404)
    assert_problem(await api.get(f"/v1/cities/{CITY}/charts/no_such_indicator"), 404)


@pytest.mark.usefixtures("series")
async def test_compare_chart_is_a_bar_chart_of_each_citys_value_with_the_warnings(
    api: Api,
) -> None:
    response = await api.get(
        "/v1/compare/chart",
        params={"indicator": "foreign_nationals", "cities": f"ESMAD,{CITY}", "lang": "fr"},
    )
    assert response.status_code == 200, response.text
    spec = response.json()
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    assert spec["mark"]["type"] == "bar" and {"x", "y"} <= spec["encoding"].keys()
    values = {value["city"]: value["value"] for value in spec["data"]["values"]}
    assert values == {"ESMAD": 405233, CITY: 9800}, values
    assert spec["usermeta"]["warnings"], "periods 2017-07-01 and 2021 differ"
    assert "Madrid" in spec["description"] and "Tunis" in spec["description"]
    assert vl_convert.vegalite_to_svg(spec).startswith("<svg")
    unknown = await api.get(
        "/v1/compare/chart", params={"indicator": "foreign_nationals", "cities": "XXNOP"}
    )
    assert_problem(unknown, 422)


#: The demo data publishes an mgi_local assessment of Lisbon (a framework that is not rankable).
ASSESSED = "PTLIS"
FRAMEWORK = Path(frameworks.__file__).parent / "shipped" / "mgi_local-1.0.yaml"


@pytest.mark.parametrize(
    ("language", "heading", "note"),
    [
        ("en", "Governance assessments", "These results are a profile, not a ranking"),
        ("fr", "Évaluations de la gouvernance", "Ces résultats forment un profil"),
        ("ar", "تقييمات الحوكمة", "هذه النتائج ملف تعريفي وليست ترتيباً"),
    ],
)
async def test_the_live_report_shows_the_citys_published_assessments(
    api: Api, language: str, heading: str, note: str
) -> None:
    document = yaml.safe_load(FRAMEWORK.read_text(encoding="utf-8"))
    titles = {area["code"]: area["titles"][language] for area in document["areas"]}
    listed = await api.get(f"/v1/cities/{ASSESSED}/assessments")
    assert listed.status_code == 200, listed.text
    [published] = [
        item for item in listed.json()["items"] if item["framework"]["code"] == "mgi_local"
    ]
    areas = [score for score in published["scores"] if score["level"] == "area"]
    assert areas and all(area["score"] is not None for area in areas), "the demo's areas score"
    response = await api.get(f"/v1/cities/{ASSESSED}/report", params={"lang": language})
    assert response.status_code == 200, response.text
    page = response.text
    found = re.search(r'<section id="assessments".*?</section>\s*</section>', page, flags=re.S)
    assert found, "no governance assessments section"
    section = html.unescape(found.group(0))
    assert f'<a href="#assessments">{heading}</a>' in html.unescape(page), "in the contents"
    assert f">{heading}</h2>" in section and note in section
    assert document["titles"][language] in section
    assert document["model"] in section
    loc = Localiser(language)
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td><td>(.*?)</td></tr>", section)
    assert [(area, score) for area, score, _ in rows] == [
        (titles[area["code"]], loc.number(area["score"])) for area in areas
    ]
    # The chart: one bar per scored area, named by its text alternative, left to right.
    figure = re.search(r'<figure class="chart" id="assessment-1-chart">.*?</figure>', section, re.S)
    assert figure, section[:1000]
    svg_tag = re.search(r"<svg[^>]*>", figure.group(0))
    assert svg_tag and 'role="img"' in svg_tag.group(0) and "direction: ltr" in svg_tag.group(0)
    assert all(titles[area["code"]] in figure.group(0) for area in areas)
