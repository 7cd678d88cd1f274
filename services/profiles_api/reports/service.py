"""Reports: a city's profile as a document, its charts as Vega-Lite specs, its HTML preview.

What the caller may see is decided here (``Reader``, through ``assemble_profile`` and
``Suppression``); the document handed to the renderer holds nothing else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from anyio import to_thread
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.cities.service import get_city
from services.profiles_api.compare import service as compare_service
from services.profiles_api.editions import citation
from services.profiles_api.editions import service as editions_service
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.indicators.service import get_indicator
from services.profiles_api.observations.fields import Period, ShownValue
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.suppression import Suppression
from services.profiles_api.profiles.service import assemble_profile
from services.profiles_api.reports.charts import ComparedBar, compare_chart, indicator_chart, svg
from services.profiles_api.reports.document import (
    DocumentAssessment,
    DocumentChallenge,
    DocumentCity,
    DocumentCoverage,
    DocumentIndicator,
    DocumentScore,
    DocumentSection,
    DocumentSource,
    DocumentValue,
    ReportDocument,
)
from services.profiles_api.reports.edition import edition_document
from services.profiles_api.reports.localise import Localiser
from services.profiles_api.reports.pdf import render_pdf
from services.profiles_api.reports.render import render_report
from services.profiles_api.reports.repository import (
    EditionReportRepository,
    StoredReport,
    preferred_series,
)
from services.profiles_api.reports.requests import Enqueue, enqueue_rendering
from services.profiles_api.sources.models import Source
from shared.errors import ProblemError

log = logging.getLogger(__name__)


def _indicator(indicator: Indicator) -> DocumentIndicator:
    return DocumentIndicator(
        code=indicator.code,
        names=indicator.names,
        theme=indicator.theme,
        unit=indicator.unit,
        population_concept=indicator.population_concept,
    )


def _source(source: Source) -> DocumentSource:
    return DocumentSource(
        id=source.id,
        title=source.title,
        publisher=source.publisher,
        url=source.url,
        kind=source.kind.value,
        accessed_on=source.accessed_on,
    )


def _value(observation: Observation, shown: ShownValue) -> DocumentValue:
    return DocumentValue(
        indicator=observation.indicator_code,
        period=observation.period,
        period_start=observation.period_start,
        scope=observation.scope,
        breakdown=dict(observation.dimensions),
        value=shown.value,
        value_low=shown.value_low,
        value_high=shown.value_high,
        obs_status=observation.obs_status,
        status=shown.status,
        # A note may describe the hidden value: it goes with it.
        note=observation.note if shown.value is not None else None,
        source=observation.source_id,
    )


async def _series(
    session: AsyncSession, reader: Reader, code: str, indicators: Iterable[str] = ()
) -> tuple[list[DocumentValue], list[Source]]:
    rows = await preferred_series(session, code, list(indicators))
    suppression = await Suppression.load_for_observations(session, reader, (o for o, _ in rows))
    values = [_value(observation, suppression.shown(observation)) for observation, _ in rows]
    return values, [source for _, source in rows]


def _unique_sources(sources: Iterable[Source]) -> list[DocumentSource]:
    return [_source(source) for source in {source.id: source for source in sources}.values()]


async def _assessments(session: AsyncSession, code: str) -> list[DocumentAssessment]:
    """The city's published assessments (public, whoever asks) with their scores."""
    repository = AssessmentRepository.from_session(session)
    found = []
    for assessment, framework in await repository.for_city(code, published_only=True):
        scores = await repository.scores(code, assessment.id, framework.id)
        titles = await repository.item_titles(framework.id)
        found.append(
            DocumentAssessment(
                framework=framework.code,
                version=framework.version,
                titles=dict(framework.titles),
                model=framework.model,
                rankable=framework.rankable,
                reference_date=assessment.reference_date,
                scores=[
                    DocumentScore(
                        level=score.level,
                        code=score.code,
                        parent=score.parent_code,
                        titles=dict(titles.get((score.level, score.code), {})),
                        score=score.score,
                        reason=score.reason,
                        answered=score.answered,
                        unknown=score.unknown,
                        not_applicable=score.not_applicable,
                        total=score.total,
                    )
                    for score in scores
                ],
            )
        )
    return found


async def report_document(session: AsyncSession, reader: Reader, code: str) -> ReportDocument:
    """The city's live profile as a report document, as ``reader`` may see it."""
    profile = await assemble_profile(session, reader, code)
    series, series_sources = await _series(session, reader, code)
    used = {figure.indicator.code for figure in profile.figures} | {v.indicator for v in series}
    catalogue = {figure.indicator.code: figure.indicator for figure in profile.figures}
    if used - catalogue.keys():
        catalogue = await IndicatorRepository.from_session(session).all()
    return ReportDocument(
        city=DocumentCity(
            code=profile.city.code, names=profile.city.names, country=profile.city.country
        ),
        generated_at=profile.generated_at,
        indicators=[_indicator(catalogue[code]) for code in sorted(used)],
        figures=[_value(figure.observation, figure.shown) for figure in profile.figures],
        series=series,
        sources=_unique_sources([*(figure.source for figure in profile.figures), *series_sources]),
        sections=[
            DocumentSection(
                code=section.code,
                titles=section.published_title or {},
                narratives=section.published_narrative or {},
            )
            for section in profile.sections
        ],
        challenges=[
            DocumentChallenge(
                theme=challenge.theme,
                need_type=challenge.need_type,
                descriptions=challenge.description,
                priority=challenge.priority,
            )
            for challenge in profile.challenges
        ],
        coverage=[
            DocumentCoverage(
                theme=row.theme,
                indicators=row.indicators,
                with_data=row.with_data,
                recent=row.recent,
            )
            for row in profile.coverage
        ],
        assessments=await _assessments(session, code),
    )


async def indicator_chart_spec(
    session: AsyncSession, reader: Reader, code: str, indicator_code: str, language: str
) -> dict[str, Any]:
    """The Vega-Lite spec of the city's preferred values of the indicator over time."""
    city = await get_city(session, code)
    indicator = await get_indicator(session, indicator_code)
    series, sources = await _series(session, reader, code, [indicator_code])
    document = ReportDocument(
        city=DocumentCity(code=city.code, names=city.names, country=city.country),
        generated_at=datetime.now(UTC),
        indicators=[_indicator(indicator)],
        figures=[],
        series=series,
        sources=_unique_sources(sources),
        sections=[],
        challenges=[],
        coverage=[],
    )
    return indicator_chart(document, document.indicators[0], Localiser(language)).spec


async def report_preview(session: AsyncSession, reader: Reader, code: str, language: str) -> str:
    """The live report of the city as HTML in ``language``, marked as a preview."""
    document = await report_document(session, reader, code)
    # Drawing charts is CPU work outside the event loop (vl-convert runs its own engine).
    return await to_thread.run_sync(
        partial(render_report, document, language, preview=True, draw=svg)
    )


async def compare_chart_spec(
    session: AsyncSession,
    reader: Reader,
    *,
    indicators: list[str],
    cities: list[str],
    period: Period | None,
    language: str,
) -> dict[str, Any]:
    """The Vega-Lite spec of a comparison (``compare.service.compare``) as a bar chart, with
    its comparability warnings. ``FieldProblem`` as ``compare`` raises it."""
    matches = await compare_service.compare(
        session, reader, indicators=indicators, cities=cities, period=period
    )
    loc = Localiser(language)
    warnings = [
        loc.comparability_warning(warning)
        for warning in compare_service.comparability_warnings(matches)
    ]
    bars = [
        ComparedBar(
            city=match.city.code,
            city_names=match.city.names,
            indicator=_indicator(match.indicator) if match.indicator else None,
            period=match.observation.period if match.observation else None,
            value=match.shown.value,
            estimate=compare_service.is_estimate(match.observation) if match.observation else False,
            source=match.source.title if match.source else None,
        )
        for match in matches
    ]
    return compare_chart(bars, warnings, loc)


#: The languages an edition's report is rendered in (``labels.report_language``'s).
REPORT_LANGUAGES = ("en", "fr", "ar")


async def edition_report_document(
    session: AsyncSession, edition_id: str, language: str, *, root: str
) -> ReportDocument:
    """The report document of a published edition (404 if unknown, 410 if withdrawn), its
    cover citing it at ``root`` (the platform's public address; "" for paths only)."""
    edition = await editions_service.get_edition(session, edition_id)
    snapshot = json.loads(edition.content)
    city = Localiser(language).pick(snapshot["city"]["names"], edition.city_code).text
    cited = citation.Citation(
        edition_id=edition.id,
        city=city,
        published_at=edition.published_at,
        url=citation.edition_url(root, edition.id),
        content_hash=edition.content_hash,
        accessed=None,
    )
    return edition_document(
        snapshot, content_hash=edition.content_hash, citation=citation.text_line(cited).strip()
    )


async def edition_report_html(
    session: AsyncSession, edition_id: str, language: str, *, root: str
) -> str:
    """The report of a published edition as HTML in ``language``."""
    document = await edition_report_document(session, edition_id, language, root=root)
    return await to_thread.run_sync(
        partial(render_report, document, language, preview=False, draw=svg)
    )


async def render_edition_pdf(
    session: AsyncSession, edition_id: str, language: str, *, root: str
) -> bytes:
    """The report of a published edition as PDF in ``language`` (CPU work, off the loop)."""
    document = await edition_report_document(session, edition_id, language, root=root)
    return await draw_pdf(document, language)


async def draw_pdf(document: ReportDocument, language: str) -> bytes:
    """An edition's document as PDF, in a thread. Cancelled (a time limit), the caller goes
    on at once; the thread finishes its page and its result is dropped."""
    return await to_thread.run_sync(
        partial(render_pdf, document, language, preview=False, draw=svg), abandon_on_cancel=True
    )


#: What a 202 asks the reader to wait before asking again for a PDF being rendered.
RETRY_AFTER_SECONDS = 2


async def edition_pdf(
    session: AsyncSession,
    edition_id: str,
    language: str,
    *,
    enqueue: Enqueue | None,
    wait_seconds: float,
    max_failures: int,
) -> StoredReport:
    """An edition's stored PDF in ``language``; if there is none yet, ask the worker for it
    and wait up to ``wait_seconds`` for it (``pdf`` stays None past that). 404/410 as the
    edition's reads; 503 once the rendering is given up (its error stays in the table)."""
    await editions_service.get_edition(session, edition_id)
    reports = EditionReportRepository.from_session(session)
    stored = await reports.stored(edition_id, language)
    if stored is not None and stored.pdf is not None:
        return stored
    if stored is not None and stored.failures >= max_failures:
        raise ProblemError.of_status(
            503,
            "Report unavailable",
            f"The {language} PDF of edition {edition_id} could not be rendered; the "
            "platform's administrators have its error.",
            edition=edition_id,
            language=language,
        )
    if stored is None:
        await reports.request(edition_id, [language])
        # Committed before the job is enqueued: the worker finds the request, and the sweep
        # enqueues it again if the job is lost.
        await session.commit()
        stored = await reports.stored(edition_id, language)
    await session.commit()  # no transaction held while the job is enqueued or awaited
    if stored is None:  # requested above, and never deleted with its edition
        stored = await _stored(reports, edition_id, language)
    if enqueue is None or not await _enqueued(enqueue, stored):
        return stored  # 202 at once: the sweep enqueues it
    return await _rendered_within(session, reports, edition_id, language, wait_seconds)


#: The longest a read waits for Redis to take a rendering's job (else the sweep enqueues it).
ENQUEUE_TIMEOUT_SECONDS = 1.0


async def _enqueued(enqueue: Enqueue, stored: StoredReport) -> bool:
    """Whether the rendering is on the worker's queue (enqueued now, or before)."""
    try:
        with anyio.fail_after(ENQUEUE_TIMEOUT_SECONDS):
            await enqueue_rendering(enqueue, stored)
    except (RedisError, OSError, TimeoutError) as error:
        log.warning(
            "edition %s: rendering not enqueued (%r); the sweep will", stored.edition_id, error
        )
        return False
    return True


async def _stored(reports: EditionReportRepository, edition_id: str, language: str) -> StoredReport:
    stored = await reports.stored(edition_id, language)
    assert stored is not None  # requested above, and never deleted with its edition
    return stored


async def _rendered_within(
    session: AsyncSession,
    reports: EditionReportRepository,
    edition_id: str,
    language: str,
    seconds: float,
) -> StoredReport:
    """The rendering as soon as the worker stored it, or as it stands after ``seconds``. Each
    look is a transaction of its own: the connection goes back to the pool between them."""
    deadline = anyio.current_time() + seconds
    pause = 0.05
    while True:
        stored = await _stored(reports, edition_id, language)
        await session.commit()
        remaining = deadline - anyio.current_time()
        if stored.pdf is not None or remaining <= 0:
            return stored
        await anyio.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.5)
