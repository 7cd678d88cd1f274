"""The reports' background work: rendering each edition's PDF, once per language.

A new edition asks for its PDF in every report language (``edition.published``); a read of
a PDF not stored yet asks for it too (``requests.request_rendering``). Each request is a row of
``edition_report`` committed before its job is enqueued, so a job lost with Redis, or never
enqueued, is enqueued again by the sweep. A job id names the edition, language, request and
failures so far: enqueueing the same request twice renders it once, and a retry after a failure is a
new job. A rendering that fails is recorded with its error and tried again by the sweep until
``report_max_failures``; the PDF's reads then answer 503 naming the error.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from arq import cron
from arq.worker import func as job
from prometheus_client import CollectorRegistry, Counter, Histogram

from services.profiles_api.reports import service
from services.profiles_api.reports.repository import EditionReportRepository
from services.profiles_api.reports.requests import RENDER_JOB, enqueue_rendering
from shared.contracts.events import EditionPublished, OutboxEvent
from shared.errors import ProblemError
from shared.jobs import DomainMetric, JobContext, Tasks, job_context

log = logging.getLogger(__name__)

#: A request not rendered this long after it was made is enqueued again by the sweep.
SWEEP_AFTER_SECONDS = 30
#: The part of the job's time limit a drawing may take (the rest records its failure).
RENDER_SHARE_OF_JOB_TIMEOUT = 0.8


def _renderings(registry: CollectorRegistry) -> Histogram:
    return Histogram(
        "mc2cm_report_render_seconds",
        "Time to render an edition's PDF report, by language.",
        ["language"],
        registry=registry,
        buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
    )


def _failures(registry: CollectorRegistry) -> Counter:
    return Counter(
        "mc2cm_report_render_failures",
        "Renderings of an edition's PDF report that failed, by language.",
        ["language"],
        registry=registry,
    )


RENDERINGS = DomainMetric(_renderings)
FAILURES = DomainMetric(_failures)


async def on_edition_published(worker: JobContext, event: OutboxEvent) -> None:
    """Render a new edition's PDF in every language, before anyone asks."""
    payload = EditionPublished.model_validate(event.data)
    async with worker.database.sessionmaker() as session:
        reports = EditionReportRepository.from_session(session)
        await reports.request(payload.edition_id, service.REPORT_LANGUAGES)
        await session.commit()
        asked = [
            await reports.stored(payload.edition_id, language)
            for language in service.REPORT_LANGUAGES
        ]
    for report in asked:
        if report is not None and report.pdf is None:
            await enqueue_rendering(worker.enqueue, report)


async def render_edition_report(ctx: dict[str, Any], edition_id: str, language: str) -> str:
    """Render and store edition ``edition_id``'s PDF in ``language`` (unless stored).

    The edition is read in a transaction of its own, closed while the PDF is drawn; the
    drawing has a time limit shorter than the job's, so a rendering that hangs is recorded as
    a failure (tried again by the sweep, given up at ``report_max_failures``) rather than
    cut by the job's timeout with nothing recorded."""
    worker = job_context(ctx)
    root = worker.settings.public_url or ""
    limit = worker.settings.job_timeout_seconds * RENDER_SHARE_OF_JOB_TIMEOUT
    async with worker.database.sessionmaker() as session:
        reports = EditionReportRepository.from_session(session)
        stored = await reports.stored(edition_id, language)
        if stored is None or stored.pdf is not None:
            return "nothing to render"
        try:
            document = await service.edition_report_document(
                session, edition_id, language, root=root
            )
            await session.commit()
            with RENDERINGS.of(worker.registry).labels(language).time(), anyio.fail_after(limit):
                pdf = await service.draw_pdf(document, language)
        except ProblemError as problem:
            # Withdrawn (410) or gone: nothing to render, and no reader will be served it.
            await session.rollback()
            await reports.record_failure(
                edition_id,
                language,
                problem.detail,
                at_least=worker.settings.report_max_failures,
            )
            await session.commit()
            return f"not rendered: {problem.title}"
        except Exception as error:
            # TimeoutError (the time limit) included.
            log.exception("edition %s: the %s PDF failed to render", edition_id, language)
            FAILURES.of(worker.registry).labels(language).inc()
            await session.rollback()
            await reports.record_failure(edition_id, language, f"{type(error).__name__}: {error}")
            await session.commit()
            return "failed"
        await reports.store(edition_id, language, pdf)
        await session.commit()
    return f"{len(pdf)} bytes"


async def sweep_edition_reports(ctx: dict[str, Any]) -> str:
    """Cron job: enqueue again the renderings asked for and not done (a lost job)."""
    worker = job_context(ctx)
    async with worker.database.sessionmaker() as session:
        pending = await EditionReportRepository.from_session(session).pending(
            older_than_seconds=SWEEP_AFTER_SECONDS,
            max_failures=worker.settings.report_max_failures,
        )
    enqueued = 0
    for request in pending:
        enqueued += await enqueue_rendering(worker.enqueue, request)
    return f"{enqueued} of {len(pending)} enqueued"


TASKS = Tasks(
    handlers={EditionPublished.event_type: [on_edition_published]},
    # No result kept: arq refuses a job id whose result it keeps, and a rendering cut short
    # (a worker killed) must be enqueued again under the same id by the sweep.
    functions=[job(render_edition_report, name=RENDER_JOB, keep_result=0)],
    cron_jobs=[cron(sweep_edition_reports, name="sweep_edition_reports", second={50})],
    metrics=[RENDERINGS, FAILURES],
)
