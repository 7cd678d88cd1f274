"""The report as PDF (Typst): its text layer read back with poppler's pdftotext, its pages drawn
with pdftoppm. Tunis, from the demo data, as an edition would carry it (id, hash, citation).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.reader import Reader
from services.profiles_api.reports.charts import svg
from services.profiles_api.reports.document import (
    DocumentChallenge,
    DocumentSection,
    ReportDocument,
)
from services.profiles_api.reports.labels import label
from services.profiles_api.reports.pdf import render_pdf
from services.profiles_api.reports.render import render_report, report_view
from services.profiles_api.reports.service import report_document

CITY = "TNTUN"
EDITION = "TNTUN-2026-1"
CONTENT_HASH = "3f5a9c0e7d41b2a8c6e19f0b4d7a2c58e3b16f9d0a4c7e2b5f8d1a6c9e0b3f72"
CITATION = "MC2CM (2026). City Migration Profile: Tunis. Edition TNTUN-2026-1."
#: A narrative written as Typst markup and code: it must print as written, never run.
HOSTILE = (
    '#read("/etc/passwd") #panic("ran") $x^2$ _under_ @ref <label> = Heading \\ '
    "`raw` [bracket] ] } ) // comment /* block #let x = 1 2 * 3"
)


@pytest.fixture
async def document(session: AsyncSession) -> ReportDocument:
    """Tunis's public profile as an edition of it would be rendered."""
    live = await report_document(session, Reader(principal=None, suppression_threshold=5), CITY)
    return live.model_copy(
        update={"edition": EDITION, "content_hash": CONTENT_HASH, "citation": CITATION}
    )


def text_of(pdf: bytes, tmp_path: Path, name: str) -> str:
    """The PDF's text as pdftotext extracts it, its white space collapsed."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(extracted.split())


def flat(text: str) -> str:
    return " ".join(text.split())


def test_english_pdf_has_every_key_figure_the_edition_and_its_hash(
    document: ReportDocument, tmp_path: Path
) -> None:
    view = report_view(document, "en", preview=False, draw=svg)
    assert view.figures, "Tunis has key figures in the demo data"
    text = text_of(render_pdf(document, "en", preview=False, draw=svg), tmp_path, "en")
    for row in view.figures:
        assert flat(f"{row.data.text}: {row.value}") in text, (row, text[:2000])
        assert row.year in text and flat(row.source) in text, row
    assert f"Edition: {EDITION}" in text
    assert f"Content hash (SHA-256): {CONTENT_HASH}" in text
    assert CITATION in text
    assert "not citable" not in text, "an edition is no preview"
    for heading in ("Key figures", "Themes", "Challenges and needs", "Sources"):
        assert heading in text, heading
    for chart in (chart for theme in view.themes for chart in theme.charts):
        assert flat(chart.alt) in text, chart.alt
    preview = text_of(render_pdf(document, "en", preview=True, draw=svg), tmp_path, "preview")
    assert "Preview — live data, not citable" in preview


def test_arabic_pdf_reads_right_to_left_with_the_city_name_in_logical_order(
    document: ReportDocument, tmp_path: Path
) -> None:
    pdf = render_pdf(document, "ar", preview=False, draw=svg)
    name = document.city.names["ar"]
    text = text_of(pdf, tmp_path, "ar")
    assert name in text, (name, text[:600])
    assert EDITION in text and CONTENT_HASH in text
    assert "أرقام رئيسية" in text, "the report's own words are in Arabic"
    # Right to left: the heading "Contents" stands at the right margin, not the left one.
    boxes = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(tmp_path / "ar.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    contents = "المحتويات"
    starts = [
        float(x_min)
        for x_min, word in re.findall(r'<word xMin="([0-9.]+)"[^>]*>([^<]+)</word>', boxes)
        if word in (contents, contents[::-1])  # poppler lists words in visual order
    ]
    width = float(PdfReader(tmp_path / "ar.pdf").pages[0].mediabox.width)
    assert starts and starts[0] > width / 2, (starts, width)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(tmp_path / "ar.pdf"), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(tmp_path / "ar.pdf").pages) >= 2, pages
    assert pages[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # Not blank: the same page in grey levels has dark pixels (text) and white ones (paper).
    grey = subprocess.run(
        ["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(tmp_path / "ar.pdf")],
        check=True,
        capture_output=True,
    ).stdout
    pixels = grey.split(b"\n", 3)[3]  # after the PGM header: P5, size, maximum
    assert min(pixels) < 64 and max(pixels) == 255, (min(pixels), max(pixels))


def test_rendering_twice_gives_the_same_pdf(document: ReportDocument, tmp_path: Path) -> None:
    first = render_pdf(document, "ar", preview=False, draw=svg)
    second = render_pdf(document, "ar", preview=False, draw=svg)
    assert text_of(first, tmp_path, "first") == text_of(second, tmp_path, "second")
    assert len(PdfReader(tmp_path / "first.pdf").pages) == len(
        PdfReader(tmp_path / "second.pdf").pages
    )
    assert first == second, "the same document renders to the same bytes"


def test_typst_markup_in_a_citys_texts_prints_as_written_and_never_runs(
    document: ReportDocument, tmp_path: Path
) -> None:
    hostile = document.model_copy(
        update={
            "sections": [
                *document.sections,
                DocumentSection(
                    code="national_context",
                    titles={"en": "Context #{1 + 1} [x]"},
                    narratives={"en": f"{HOSTILE}\n\n**Kept** as *written* \\#"},
                ),
            ],
            "challenges": [
                DocumentChallenge(
                    theme="health",
                    need_type="resources",
                    descriptions={"en": '#include "/etc/hostname" <script>'},
                    priority="high",
                )
            ],
        }
    )
    text = text_of(render_pdf(hostile, "en", preview=False, draw=svg), tmp_path, "hostile")
    assert flat(HOSTILE) in text, text
    assert "Context #{1 + 1} [x]" in text
    assert "Kept as written \\#" in text, "Markdown emphasis is the only markup"
    assert '#include "/etc/hostname" <script>' in text
    # Run, `#panic` would have failed the render and `#read` printed the file.
    assert "root:x:" not in text


def test_a_text_missing_in_the_language_is_shown_in_english_with_a_note(
    document: ReportDocument, tmp_path: Path
) -> None:
    english_only = document.model_copy(
        update={
            "challenges": [
                DocumentChallenge(
                    theme="intercultural",
                    need_type="capabilities",
                    descriptions={"en": "No interpreters at the municipal desk."},
                    priority="high",
                )
            ]
        }
    )
    text = text_of(render_pdf(english_only, "fr", preview=False, draw=svg), tmp_path, "fr")
    assert "No interpreters at the municipal desk." in text
    assert flat(label("fallback", "fr", shown="anglais")) in text


def test_the_html_cover_shows_the_edition_citation_and_hash_as_the_pdf_does(
    document: ReportDocument,
) -> None:
    page = render_report(document, "ar", preview=False, draw=svg)
    cover = page[page.index('<header class="cover">') : page.index("</header>")]
    assert f'<span dir="ltr">{EDITION}</span>' in cover, cover
    assert f'<code dir="ltr">{CONTENT_HASH}</code>' in cover, cover
    assert CITATION in cover and label("citation", "ar") in cover, cover
    assert 'class="banner"' not in cover, "an edition is no preview"


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_pdf_has_the_governance_assessments_of_the_city(
    document: ReportDocument, tmp_path: Path, language: str
) -> None:
    """Tunis's demo mgi_local assessment: the section, its framework, areas and scores."""
    assert document.assessments, "the demo data publishes an assessment of Tunis"
    view = report_view(document, language, preview=False, draw=svg)
    [assessment] = view.assessments
    text = text_of(render_pdf(document, language, preview=False, draw=svg), tmp_path, language)
    assert label("assessments", language) in text, text[-3000:]
    if language == "ar":
        return  # pdftotext splits some Arabic ligatures (لا): the headings above suffice
    assert flat(assessment.title.text) in text
    assert assessment.rows and flat(assessment.rows[0].area.text) in text
    for row in assessment.rows:
        assert row.score in text, row
    assert assessment.not_rankable and flat(assessment.not_rankable) in text
    assert flat(assessment.model) in text
