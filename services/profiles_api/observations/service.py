"""Observations: figures with their sources, written in batches and never silently replaced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.db import audit_log, events
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.models import (
    VALUE_FIELDS,
    Observation,
    ObservationChange,
)
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
    lock_city_observations,
)
from services.profiles_api.observations.schemas import BatchResult, ObservationBatchIn
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
from shared.contracts.events import ObservationKey, ObservationsChanged
from shared.errors import NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


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
    session: AsyncSession, criteria: ObservationFilter, page: PageParams
) -> Sequence[Row[*tuple[Any, ...]]]:
    """A page of the observations ``criteria`` select, each with its source, as rows of
    ``repository.LIST_COLUMNS``."""
    return await ObservationRepository.from_session(session).page_rows(criteria, page)


async def get_observation(session: AsyncSession, observation_id: int) -> tuple[Observation, Source]:
    """The observation with ``observation_id`` and its source, or 404."""
    row = await ObservationRepository.from_session(session).with_source(observation_id)
    if row is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    observation, source = row
    return observation, source


async def delete_observation(
    session: AsyncSession, principal: Principal, observation_id: int, *, reason: str
) -> None:
    """Withdraw a figure; its history keeps what it was, who withdrew it and why."""
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
        },
    )
    session.add(
        ObservationChange(
            observation_id=observation_id,
            change="deleted",
            old=dict(zip(VALUE_FIELDS, withdrawn, strict=True)),
            new=None,
            changed_by=principal.subject,
            reason=reason,
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
    session: AsyncSession, observation_id: int, page: PageParams
) -> tuple[Sequence[ObservationChange], Observation | None]:
    """A page of an observation's changes, oldest first, and the observation (``None`` once
    withdrawn); 404 if it never existed."""
    repository = ObservationRepository.from_session(session)
    changes = await repository.history(observation_id, page)
    # An observation always has its "created" change, kept after it is withdrawn: only an
    # id never used has none. A later page may be empty without that meaning anything.
    if not changes and page.cursor is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    return changes, await repository.get(observation_id)
