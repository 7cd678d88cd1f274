"""The queries of reports: a city's preferred values over time, and editions' PDFs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.editions.repository import city_of
from services.profiles_api.observations.models import Observation
from services.profiles_api.observations.repository import ObservationFilter, preferred_ids
from services.profiles_api.reports.models import EditionReport
from services.profiles_api.sources.models import Source
from shared.repository import Repository


async def preferred_series(
    session: AsyncSession, city: str, indicators: Sequence[str] = ()
) -> Sequence[Row[Observation, Source]]:
    """The preferred value of every figure of ``city`` (of ``indicators`` if given), with its
    source, oldest period first."""
    chosen = preferred_ids(ObservationFilter(cities=[city], indicators=indicators))
    statement = (
        select(Observation, Source)
        .join(Source, Source.id == Observation.source_id)
        .where(Observation.id.in_(chosen.scalar_subquery()), Observation.value.is_not(None))
        .order_by(
            Observation.indicator_code,
            Observation.period_start,
            Observation.disaggregation,
            Observation.scope,
        )
    )
    return (await session.execute(statement)).all()


@dataclass(frozen=True)
class StoredReport:
    """Where an edition's PDF in one language stands: rendered (``pdf``), or requested at
    ``requested_at`` and failed ``failures`` times so far."""

    edition_id: str
    language: str
    requested_at: datetime
    failures: int
    last_error: str | None
    pdf: bytes | None
    pdf_hash: str | None


_STORED = (
    EditionReport.edition_id,
    EditionReport.language,
    EditionReport.requested_at,
    EditionReport.failures,
    EditionReport.last_error,
    EditionReport.pdf,
    EditionReport.pdf_hash,
)


class EditionReportRepository(Repository[EditionReport]):
    model = EditionReport

    async def stored(self, edition_id: str, language: str) -> StoredReport | None:
        """The rendering as committed now (read afresh, never from the session's cache)."""
        row = (
            await self.session.execute(
                select(*_STORED).where(
                    EditionReport.city_code == city_of(edition_id),
                    EditionReport.edition_id == edition_id,
                    EditionReport.language == language,
                )
            )
        ).first()
        return StoredReport(*row) if row is not None else None

    async def request(self, edition_id: str, languages: Sequence[str]) -> None:
        """Ask for the renderings not asked for yet (asking again changes nothing)."""
        rows = [
            {
                "edition_id": edition_id,
                "city_code": city_of(edition_id),
                "language": language,
                "requested_at": func.now(),
                "failures": 0,
            }
            for language in languages
        ]
        await self.session.execute(insert(EditionReport).values(rows).on_conflict_do_nothing())

    async def store(self, edition_id: str, language: str, pdf: bytes) -> None:
        await self.session.execute(
            update(EditionReport)
            .where(
                EditionReport.city_code == city_of(edition_id),
                EditionReport.edition_id == edition_id,
                EditionReport.language == language,
            )
            .values(
                pdf=pdf,
                pdf_hash=hashlib.sha256(pdf).hexdigest(),
                rendered_at=func.now(),
                last_error=None,
            )
        )

    async def record_failure(
        self, edition_id: str, language: str, error: str, *, at_least: int = 0
    ) -> None:
        """Count a failed rendering (``at_least`` this many failures: given up at once)."""
        await self.session.execute(
            update(EditionReport)
            .where(
                EditionReport.city_code == city_of(edition_id),
                EditionReport.edition_id == edition_id,
                EditionReport.language == language,
            )
            .values(failures=func.greatest(EditionReport.failures + 1, at_least), last_error=error)
        )

    async def pending(self, *, older_than_seconds: float, max_failures: int) -> list[StoredReport]:
        """Renderings asked for, not done, and not given up, asked at least this long ago."""
        rows = await self.session.execute(
            select(*_STORED)
            .where(
                EditionReport.pdf.is_(None),
                EditionReport.failures < max_failures,
                EditionReport.requested_at
                < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds),
            )
            .order_by(EditionReport.requested_at)
            .limit(1000)
        )
        return [StoredReport(*row) for row in rows]
