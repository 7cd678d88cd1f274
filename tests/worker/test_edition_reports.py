"""Editions' PDF reports, rendered by the worker once per language and kept in PostgreSQL."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
from sqlalchemy import text

from services.profiles_api.reports.localise import Localiser
from services.profiles_api.reports.repository import EditionReportRepository
from services.profiles_api.reports.tasks import render_edition_report, sweep_edition_reports
from services.worker.app import open_worker
from shared.auth import Role
from shared.db import Database
from tests.factories import Api, assert_problem
from tests.waiting import eventually
from tests.worker.conftest import Platform

PUBLIC = "https://profiles.mc2cm.example"


async def pdf_of(api: Api, edition_id: str, language: str) -> httpx.Response:
    """The PDF, asked for again on each 202 as a client does (after a short wait)."""

    async def rendered() -> httpx.Response | None:
        response = await api.get(f"/v1/editions/{edition_id}/report.pdf?lang={language}")
        assert response.status_code in (200, 202), response.text
        return response if response.status_code == 200 else None

    return await eventually(rendered, timeout=60, interval=0.2)


def text_of(pdf: bytes, folder: Path, name: str) -> str:
    """The PDF's text layer (poppler's pdftotext), and its first page drawn as PNG."""
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", path, path.with_suffix("")],
        check=True,
    )
    assert list(folder.glob(f"{name}*.png")), "the first page was not drawn"
    return subprocess.run(
        ["pdftotext", path, "-"], check=True, capture_output=True, text=True
    ).stdout


async def test_an_edition_is_rendered_in_every_language_and_its_pdf_kept(
    platform: Platform, tmp_path: Path
) -> None:
    async with platform.worker(public_url=PUBLIC):
        published = await platform.profiles.post("/v1/cities/LBBEY/editions", role=Role.admin)
        assert published.status_code == 201, published.text
        edition = published.json()
        arabic = await pdf_of(platform.profiles, edition["id"], "ar")
        english = await pdf_of(platform.profiles, edition["id"], "en")
        french = await pdf_of(platform.profiles, edition["id"], "fr")
    snapshot = (await platform.profiles.get(f"/v1/editions/{edition['id']}")).json()["snapshot"]
    assert arabic.headers["content-type"] == "application/pdf"
    assert arabic.content.startswith(b"%PDF-") and arabic.content != english.content
    assert arabic.headers["Content-Language"] == "ar"
    assert arabic.headers["ETag"] != french.headers["ETag"]

    text = text_of(arabic.content, tmp_path, "ar")
    assert snapshot["city"]["names"]["ar"] in text  # in logical order, letters as stored
    assert edition["id"] in text and edition["content_hash"] in text
    # The cover's citation, at the public address (pdftotext marks runs of the other
    # direction with embedding controls, and breaks the long line).
    unmarked = re.sub(r"[\u202a-\u202e\u2066-\u2069\s]", "", text)
    assert f"{PUBLIC}/v1/editions/{edition['id']}" in unmarked

    text = text_of(english.content, tmp_path, "en")
    english_numbers = Localiser("en")
    for key in snapshot["key_figures"]:
        figure = next(
            f
            for f in snapshot["figures"]
            if (f["indicator"], f["period"], f["scope"]) == tuple(key.values())
            and not f["dimensions"]
        )
        if figure["value"] is not None:
            assert english_numbers.number(figure["value"]) in text, (key, figure["value"])

    # Kept: asked again, the same bytes come from the store, with the worker stopped.
    again = await platform.profiles.get(f"/v1/editions/{edition['id']}/report.pdf?lang=ar")
    assert again.status_code == 200 and again.content == arabic.content


async def test_a_lost_request_is_swept_and_a_rendering_given_up_is_a_503(
    platform: Platform, quiet: Database
) -> None:
    """No worker runs while the PDF is asked for: its job waits on the queue. The request is
    then made to look lost (asked two minutes ago); the sweep enqueues it again and its job
    renders it. Another language's rendering is recorded as failed as often as allowed."""
    published = await platform.profiles.post("/v1/cities/TNTUN/editions", role=Role.admin)
    edition = published.json()["id"]
    url = f"/v1/editions/{edition}/report.pdf"
    assert (await platform.profiles.get(f"{url}?lang=fr")).status_code == 202
    assert (await platform.profiles.get(f"{url}?lang=en")).status_code == 202
    async with quiet.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE profiles.edition_report SET requested_at = now() - interval '2 minutes'"
                " WHERE edition_id = :id"
            ),
            {"id": edition},
        )
        reports = EditionReportRepository.from_session(session)
        for _ in range(platform.settings.report_max_failures):
            await reports.record_failure(edition, "en", "RuntimeError: out of paper")

    async with open_worker(platform.settings) as worker:
        swept = await sweep_edition_reports({"worker": worker})
        assert swept == "1 of 1 enqueued", swept  # fr only: en is given up
        assert await render_edition_report({"worker": worker}, edition, "fr") != "failed"
    french = await platform.profiles.get(f"{url}?lang=fr")
    assert french.status_code == 200 and french.content.startswith(b"%PDF-")
    problem = assert_problem(await platform.profiles.get(f"{url}?lang=en"), 503)
    assert (problem["edition"], problem["language"]) == (edition, "en"), problem
    assert "out of paper" not in problem["detail"], "the renderer's error stays inside"
