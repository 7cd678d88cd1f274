"""Observations: figures with their sources, written in batches and never silently replaced.

Every read receives the caller (``Reader``) and answers what they may see: small counts are
suppressed here (``suppression``), so the router and the CSV writer only render.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.profiles_api.db import audit_log, events
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.models import (
    VALUE_FIELDS,
    Observation,
    ObservationChange,
    ValueChange,
)
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
    export_version,
    largest_theme,
    lock_city_observations,
)
from services.profiles_api.observations.schemas import (
    BatchResult,
    ObservationBatchIn,
    ObservationChangeRead,
    observation_json,
)
from services.profiles_api.observations.suppression import Suppression
from services.profiles_api.observations.validation import (
    InlineSource,
    ObservationValidator,
    StagingRecord,
)
from services.profiles_api.observations.writer import ObservationBatch
from services.profiles_api.sources.models import Source
from services.profiles_api.sources.repository import SourceRepository
from shared.audit import Action
from shared.auth import Principal, ensure_city_editor
from shared.caching import weak_etag
from shared.contracts.events import ObservationKey, ObservationsChanged
from shared.errors import NotFound, ValidationFailed, field_error, invalid
from shared.pagination import PageParams

#: Observations read per statement by the CSV export.
EXPORT_BATCH_ROWS = 1000


async def write_batch(
    session: AsyncSession, principal: Principal, batch: ObservationBatchIn
) -> BatchResult:
    """Upsert up to 5,000 observations at once: all of them, or none if one is invalid."""
    validator = await ObservationValidator.load(session, principal)
    known_sources = await SourceRepository.from_session(session).existing_ids(
        {o.source_id for o in batch.observations if o.source_id is not None}
    )
    records: list[StagingRecord] = []
    errors: list[dict[str, object]] = []
    for index, observation in enumerate(batch.observations):
        try:
            validator.check_city(observation.city)
            if observation.source_id is not None and observation.source_id not in known_sources:
                raise FieldProblem("source_id", f"no source with id {observation.source_id}")
            source: InlineSource | int
            if observation.source is not None:
                source = InlineSource(**observation.source.model_dump())
            else:
                assert observation.source_id is not None  # ObservationIn requires one of them
                source = observation.source_id
            records.append(
                validator.record(
                    index,
                    city=observation.city,
                    indicator=observation.indicator,
                    period=observation.period,
                    scope=observation.scope,
                    dimensions=observation.dimensions,
                    value=observation.value,
                    value_low=observation.value_low,
                    value_high=observation.value_high,
                    obs_status=observation.obs_status,
                    note=observation.note,
                    source=source,
                )
            )
        except FieldProblem as problem:
            errors.append(
                field_error(f"observations.{index}.{problem.field}", problem.message, row=index)
            )
    validator.refuse_forbidden_cities()
    if errors:
        raise ValidationFailed(
            f"{len(errors)} of {len(batch.observations)} observations are invalid; "
            "nothing was written.",
            errors=errors,
        )
    staged = ObservationBatch(session, validator.sources)
    await staged.open()
    await staged.copy(records)
    result = await staged.write(
        actor=principal.subject, reason=batch.reason, import_id=None, duplicate_limit=len(records)
    )
    if result.duplicates:
        raise ValidationFailed(
            "Some observations repeat the key of another one in the batch; nothing was written.",
            errors=[
                field_error(
                    f"observations.{d.row}",
                    f"same city, indicator, period, scope, dimensions and source as "
                    f"observations.{d.first_row}",
                    row=d.row,
                )
                for d in result.duplicates
            ],
        )
    await staged.close()
    return BatchResult.of(result)


async def list_observations(
    session: AsyncSession, reader: Reader, criteria: ObservationFilter, page: PageParams
) -> list[dict[str, Any]]:
    """A page of the observations ``criteria`` select (with the next page's first, if any),
    each as ``reader`` reads it: a JSON-ready ``ObservationRead``, small counts suppressed.

    The hot list: read as the driver's records (``page_records``), which unpack as the
    rows of ``page_rows`` do (city, breakdown and value at 1, 7 and 9)."""
    records = await ObservationRepository.from_session(session).page_records(criteria, page)
    suppression = await Suppression.load_for(
        session, reader, ((record[1], record[7], record[9]) for record in records)
    )
    return [observation_json(record, suppression) for record in records]


async def read_observation(
    session: AsyncSession, reader: Reader, observation_id: int
) -> dict[str, Any]:
    """The observation with ``observation_id`` as ``reader`` reads it, exactly as a list
    gives it (a JSON-ready ``ObservationRead``); 404 if there is none."""
    row = await ObservationRepository.from_session(session).row(observation_id)
    if row is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    suppression = await Suppression.load_for(
        session, reader, [(row.city_code, row.disaggregation, row.value)]
    )
    return observation_json(row, suppression)


async def check_export_size(
    session: AsyncSession, criteria: ObservationFilter, max_theme_rows: int | None
) -> None:
    """422 naming ``format`` when a theme has more rows than the format holds (an XLSX
    sheet): refused before the first byte, never a file cut short."""
    if max_theme_rows is None:
        return
    theme, rows = await largest_theme(session, criteria)
    if rows > max_theme_rows:
        raise invalid(
            "format",
            f"theme {theme} has {rows:,} matching rows, more than a spreadsheet sheet holds "
            f"({max_theme_rows:,}): filter by city, indicator or period, or export CSV",
            location="query",
        )


async def export_etag(
    session: AsyncSession, reader: Reader, criteria: ObservationFilter, representation: str
) -> str:
    """The weak ``ETag`` of an export (``representation``: its media type) of what
    ``criteria`` select as ``reader`` reads them, from the data's version, read before the
    first byte: any write of those cities' observations or of the catalogue changes it, and
    so do the filters, the format and what the caller may see of small counts."""
    principal = reader.principal
    caller = None if principal is None else (principal.role.value, sorted(principal.cities))
    version = await export_version(session, list(criteria.cities) or None)
    return weak_etag(representation, criteria, reader.suppression_threshold, caller, version)


async def export_observations(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: Reader,
    criteria: ObservationFilter,
    *,
    batch_rows: int = EXPORT_BATCH_ROWS,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every observation ``criteria`` select, as ``reader`` reads it (as a list gives it), in
    batches of ``batch_rows`` in the list's order.

    The caller's rule is read now, on ``session``; each batch is read later, as it is
    consumed, in a short session of its own from ``sessionmaker``, so a large export neither
    sits in memory nor holds a connection while a slow client downloads it.
    """
    suppression = await Suppression.load(session, reader)
    return _export_batches(sessionmaker, criteria, suppression, batch_rows)


async def _export_batches(
    sessionmaker: async_sessionmaker[AsyncSession],
    criteria: ObservationFilter,
    suppression: Suppression,
    batch_rows: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    cursor: list[object] | None = None
    while True:
        async with sessionmaker() as session:
            rows = await ObservationRepository.from_session(session).page_rows(
                criteria, PageParams(limit=batch_rows, cursor=cursor)
            )
        batch = rows[:batch_rows]
        if batch:
            yield [observation_json(row, suppression) for row in batch]
        if len(rows) <= batch_rows:
            return
        last = batch[-1]
        cursor = [last.city_code, last.indicator_code, last.period_start, last.id]


async def get_observation(session: AsyncSession, observation_id: int) -> tuple[Observation, Source]:
    """The observation with ``observation_id`` and its source, or 404."""
    row = await ObservationRepository.from_session(session).with_source(observation_id)
    if row is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    observation, source = row
    return observation, source


async def delete_observation(
    session: AsyncSession,
    principal: Principal,
    observation_id: int,
    *,
    reason: str,
    import_id: uuid.UUID | None = None,
) -> None:
    """Withdraw a figure; its history keeps what it was, who withdrew it and why (and the
    import that did, ``import_id``, for an SDMX-CSV row of ``ACTION`` ``D``)."""
    observation, _ = await get_observation(session, observation_id)
    ensure_city_editor(principal, observation.city_code)
    await lock_city_observations(session, [observation.city_code])
    # What is deleted is what the history records, even if a writer changed it meanwhile.
    withdrawn = (
        await session.execute(
            delete(Observation)
            .where(Observation.id == observation_id)
            .returning(*(getattr(Observation, field) for field in VALUE_FIELDS))
        )
    ).first()
    if withdrawn is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    await audit_log.record(
        session,
        action=Action.delete,
        resource="observation",
        resource_id=observation_id,
        city=observation.city_code,
        change={
            "city_code": observation.city_code,
            "indicator_code": observation.indicator_code,
            "period": observation.period,
            "scope": observation.scope,
            "disaggregation": observation.disaggregation,
            "source_id": observation.source_id,
            **dict(zip(VALUE_FIELDS, withdrawn, strict=True)),
            "reason": reason,
            **({"import_id": str(import_id)} if import_id is not None else {}),
        },
    )
    session.add(
        ObservationChange(
            observation_id=observation_id,
            city_code=observation.city_code,
            change=ValueChange.deleted,
            old=dict(zip(VALUE_FIELDS, withdrawn, strict=True)),
            new=None,
            changed_by=principal.subject,
            reason=reason,
            import_id=import_id,
        )
    )
    await events.add(
        session,
        ObservationsChanged(
            keys=[
                ObservationKey(
                    indicator=observation.indicator_code,
                    period=observation.period,
                    cities=[observation.city_code],
                )
            ],
            deleted=1,
        ),
        actor=principal.subject,
    )


async def observation_history(
    session: AsyncSession, reader: Reader, observation_id: int, page: PageParams
) -> list[ObservationChangeRead]:
    """A page of an observation's changes, oldest first (with the next page's first, if any),
    small values hidden from ``reader`` if they may not see them; 404 if it never existed."""
    repository = ObservationRepository.from_session(session)
    changes = await repository.history(observation_id, page)
    # An observation always has its "created" change, kept after it is withdrawn: only an
    # id never used has none. A later page may be empty without that meaning anything.
    if not changes and page.cursor is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    observation = await repository.get(observation_id)  # None once withdrawn
    suppression = await Suppression.load(session, reader)
    return [ObservationChangeRead.of(change, observation, suppression) for change in changes]
