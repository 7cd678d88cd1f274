"""An edition's report: frozen as the edition holds it, cited on its cover, as HTML or PDF."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.profiles_api.reports.charts import assessment_chart, svg
from services.profiles_api.reports.document import DocumentCity, ReportDocument
from services.profiles_api.reports.edition import edition_assessment, edition_document
from services.profiles_api.reports.labels import label
from services.profiles_api.reports.localise import Localiser
from services.profiles_api.reports.render import render_report, report_view
from tests.factories import Api, assert_problem, observation

CITY = "LBBEY"


async def publish(api: Api, city: str = CITY) -> dict[str, Any]:
    response = await api.post(f"/v1/cities/{city}/editions", role=Api.ADMIN)
    assert response.status_code == 201, response.text
    edition: dict[str, Any] = response.json()
    return edition


def visible(page: str) -> str:
    """The page's text, tags removed and entities read."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_the_report_of_an_edition_shows_it_frozen_and_cited_in_arabic(api: Api) -> None:
    edition = await publish(api)
    names = (await api.get(f"/v1/editions/{edition['id']}")).json()["snapshot"]["city"]["names"]
    city = await api.get(f"/v1/cities/{CITY}", role=Api.ADMIN)
    renamed = await api.patch(
        f"/v1/cities/{CITY}",
        role=Api.ADMIN,
        json={"names": {**names, "ar": "مدينة أخرى"}},
        headers={"If-Match": city.headers["ETag"]},
    )
    assert renamed.status_code == 200, renamed.text
    response = await api.get(f"/v1/editions/{edition['id']}/report?lang=ar")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["Content-Language"] == "ar"
    page = response.text
    assert '<html lang="ar" dir="rtl">' in page
    text = visible(page)
    assert names["ar"] in text and "مدينة أخرى" not in text
    assert edition["id"] in text and edition["content_hash"] in text
    # The citation line: network, year, edition id, address and hash.
    assert re.search(
        rf"MC2CM \(\d{{4}}\)\. City Migration Profile: {names['ar']}\. Edition {edition['id']}"
        # At the public address when it is set; else by its path, whatever Host was asked.
        rf".* /v1/editions/{edition['id']} \(SHA-256 {edition['content_hash']}\)",
        text,
    ), text
    # Not a preview: nothing says "live data".
    preview = await api.get(f"/v1/cities/{CITY}/report?lang=ar")
    banner = re.search(r'<p class="banner"[^>]*>([^<]+)<', preview.text)
    assert banner is not None and banner.group(1) not in page


async def test_the_html_suffix_and_accept_choose_the_same_report(api: Api) -> None:
    edition = await publish(api)
    url = f"/v1/editions/{edition['id']}/report"
    negotiated = await api.get(url, headers={"Accept": "text/html", "Accept-Language": "fr"})
    suffixed = await api.get(f"{url}.html?lang=fr")
    assert negotiated.status_code == suffixed.status_code == 200
    assert negotiated.headers["Content-Language"] == "fr"
    assert '<html lang="fr" dir="ltr">' in suffixed.text
    assert negotiated.text == suffixed.text


async def test_later_figures_do_not_reach_an_editions_report(api: Api) -> None:
    edition = await publish(api, "ITTRN")
    written = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={"observations": [observation(period="2031", value=987654)]},
    )
    assert written.status_code == 200, written.text
    live = await api.get("/v1/cities/ITTRN/report?lang=en")
    frozen = await api.get(f"/v1/editions/{edition['id']}/report?lang=en")
    assert "987,654" in visible(live.text)
    assert "987,654" not in visible(frozen.text)


async def test_a_withdrawn_or_unknown_editions_report_is_a_problem(api: Api) -> None:
    edition = await publish(api)
    withdrawn = await api.post(
        f"/v1/editions/{edition['id']}/withdrawal", role=Api.ADMIN, json={"reason": "Mis-keyed"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    for suffix in ("", ".html", ".pdf"):
        url = f"/v1/editions/{edition['id']}/report{suffix}"
        assert assert_problem(await api.get(url), 410)["reason"] == "Mis-keyed"
    assert_problem(await api.get(f"/v1/editions/{CITY}-2001-9/report.pdf"), 404)
    assert_problem(await api.get("/v1/editions/not-an-id/report"), 422)


async def test_a_pdf_not_rendered_yet_is_accepted_with_retry_after(api: Api) -> None:
    """No worker runs here: the PDF is asked for, and the caller told to come back."""
    edition = await publish(api)
    for _ in range(2):  # asking again asks nothing more
        response = await api.get(
            f"/v1/editions/{edition['id']}/report", headers={"Accept": "application/pdf"}
        )
        assert response.status_code == 202, response.text
        assert int(response.headers["Retry-After"]) > 0
        assert response.json() == {
            "edition": edition["id"],
            "language": "en",
            "status": "rendering",
        }


#: A city the demo data gives a published mgi_local assessment (not rankable).
ASSESSED = "PTLIS"
#: The section's heading and the note that a non-rankable framework's results are no ranking.
ASSESSMENTS = {
    "en": ("Governance assessments", "These results are a profile, not a ranking"),
    "fr": ("Évaluations de la gouvernance", "Ces résultats forment un profil, non un classement"),
    "ar": ("تقييمات الحوكمة", "هذه النتائج ملف تعريفي وليست ترتيباً"),
}


def assessment_section(page: str) -> str:
    found = re.search(r'<section id="assessments".*?</section>\s*</section>', page, flags=re.S)
    assert found, "no governance assessments section"
    return found.group(0)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
async def test_an_editions_report_shows_its_assessments_from_the_snapshot(
    api: Api, language: str
) -> None:
    edition = await publish(api, ASSESSED)
    snapshot = (await api.get(f"/v1/editions/{edition['id']}")).json()["snapshot"]
    [kept] = [a for a in snapshot["assessments"] if a["framework"]["code"] == "mgi_local"]
    assert kept["framework"]["rankable"] is False
    response = await api.get(f"/v1/editions/{edition['id']}/report?lang={language}")
    assert response.status_code == 200, response.text
    section = assessment_section(response.text)
    text = visible(section)
    heading, note = ASSESSMENTS[language]
    assert heading in text and note in text
    assert kept["framework"]["titles"][language] in text
    assert kept["framework"]["model"] in text, "the framework's credit line"
    loc = Localiser(language)
    assert loc.label("as_of", date=loc.date(date.fromisoformat(kept["reference_date"]))) in text
    areas = [score for score in kept["scores"] if score["level"] == "area"]
    assert areas
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td><td>(.*?)</td></tr>", section)
    assert [(html.unescape(area), html.unescape(score)) for area, score, _ in rows] == [
        (
            area["titles"][language],
            loc.number(area["score"])
            if area["score"] is not None
            else label(f"reason_{area['reason']}", language),
        )
        for area in areas
    ]
    first = areas[0]
    completeness = label(
        "completeness_value", language, answered=first["answered"], total=first["total"]
    )
    assert html.unescape(rows[0][2]) == completeness
    # The chart: drawn left to right with its text alternative, the scored areas only.
    figure = re.search(r'<figure class="chart" id="assessment-1-chart">.*?</figure>', section, re.S)
    assert figure and 'style="direction: ltr"' in figure.group(0)
    assert re.search(r'<svg[^>]* role="img" aria-label="[^"]+"', figure.group(0))


async def test_an_edition_without_assessments_renders_without_the_section(api: Api) -> None:
    edition = await publish(api, ASSESSED)
    snapshot = (await api.get(f"/v1/editions/{edition['id']}")).json()["snapshot"]
    # An edition published before editions kept assessments: no `assessments` key at all.
    del snapshot["assessments"]
    document = edition_document(snapshot, content_hash=edition["content_hash"], citation="c")
    assert document.assessments == []
    page = render_report(document, "fr", preview=False, draw=svg)
    assert 'id="assessments"' not in page and "Évaluations de la gouvernance" not in page
    assert '<html lang="fr" dir="ltr">' in page


def test_an_area_without_a_score_is_left_out_of_the_chart_and_named_with_its_reason() -> None:
    snapshot_assessment = {
        "id": 1,
        "framework": {
            "code": "demo_framework",
            "version": "2.1",
            "titles": {"en": "Demo framework", "fr": "Cadre de démo", "ar": "إطار تجريبي"},
            "model": "Modelled on nothing in particular: not an original instrument",
            "rankable": True,
            "content_hash": "0" * 64,
        },
        "reference_date": "2026-03-31",
        "published_at": "2026-04-01T00:00:00Z",
        "scores": [
            score("overall", "", None, 55.0),
            score("area", "open", None, 55.0),
            score("indicator", "open_1", "open", 55.0),
            score("area", "closed", None, None, reason="not_applicable"),
            score("area", "thin", None, None, reason="insufficient_data"),
        ],
    }
    document = ReportDocument(
        city=DocumentCity(code="PTLIS", names={"en": "Lisbon"}, country="PT"),
        generated_at=datetime(2026, 4, 2, tzinfo=UTC),
        indicators=[],
        figures=[],
        series=[],
        sources=[],
        sections=[],
        challenges=[],
        coverage=[],
        assessments=[edition_assessment(snapshot_assessment)],
    )
    [view] = report_view(
        document, "en", preview=False, draw=lambda chart: "<svg></svg>"
    ).assessments
    assert view.not_rankable is None, "a rankable framework has no such note"
    assert view.unscored == [
        "Area closed: not applicable to the city",
        "Area thin: too few questions answered",
    ]
    chart = assessment_chart(document.assessments[0], document.city.names, "PTLIS", Localiser("en"))
    assert [value["area"] for value in chart.spec["data"]["values"]] == ["open"]
    assert [area["area"] for area in chart.spec["usermeta"]["unscored"]] == ["closed", "thin"]
    assert "Not shown, without a score" in chart.alt and "not applicable" in chart.alt
    page = render_report(document, "ar", preview=False, draw=svg)
    section = assessment_section(page)
    assert "لا ينطبق على المدينة" in section and "Demo framework" not in visible(section)
    assert "إطار تجريبي" in section


def score(
    level: str, code: str, parent: str | None, value: float | None, reason: str | None = None
) -> dict[str, Any]:
    return {
        "level": level,
        "code": code,
        "parent": parent,
        "titles": {"en": f"Area {code}"} if level == "area" else {},
        "score": value,
        "reason": reason,
        "answered": 2 if value is not None else 0,
        "unknown": 0,
        "not_applicable": 0 if reason != "not_applicable" else 2,
        "total": 2,
    }
