"""An edition's report: frozen as the edition holds it, cited on its cover, as HTML or PDF."""

from __future__ import annotations

import html
import re
from typing import Any

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
