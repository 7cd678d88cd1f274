from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.profiles_api.observations import service
from services.profiles_api.observations.fields import (
    PERIOD_PATTERN,
    SCOPE_PATTERN,
    FieldProblem,
    ObsStatus,
    Period,
)
from services.profiles_api.observations.models import Observation, ObservationChange
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
)
from services.profiles_api.observations.schemas import (
    BatchResult,
    ObservationBatchIn,
    ObservationChangeRead,
    ObservationRead,
    SourceSummary,
)
from services.profiles_api.sources.models import Source
from services.profiles_api.sources.schemas import SourceKind
from shared.auth import CurrentPrincipal
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.errors import NotFound, invalid
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/observations", tags=["observations"])
ObservationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def observation_read(observation: Observation, source: Source) -> ObservationRead:
    return ObservationRead(
        id=observation.id,
        city=observation.city_code,
        indicator=observation.indicator_code,
        period=observation.period,
        period_start=observation.period_start,
        period_end=observation.period_end,
        scope=observation.scope,
        dimensions=observation.dimensions,
        value=observation.value,
        value_low=observation.value_low,
        value_high=observation.value_high,
        obs_status=ObsStatus(observation.obs_status),
        note=observation.note,
        source=source_summary(source),
        updated_at=observation.updated_at,
    )


def source_summary(source: Source) -> SourceSummary:
    return SourceSummary(
        id=source.id,
        title=source.title,
        publisher=source.publisher,
        url=source.url,
        kind=SourceKind(source.kind),
        reliability_rank=source.reliability_rank,
    )


def split_values(values: list[str] | None) -> list[str]:
    """Repeated parameters and comma-separated lists both work: `?city=A&city=B`, `?city=A,B`."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse_dimension_filter(values: list[str] | None) -> dict[str, str]:
    dimensions: dict[str, str] = {}
    for value in values or []:
        name, sep, code = value.partition("=")
        if not sep or not name or not code:
            raise invalid("dimension", f"{value!r} is not name=value, e.g. sex=F", location="query")
        if name.strip() in dimensions:
            raise invalid(
                "dimension",
                f"{name.strip()!r} is given twice; an observation has one value per dimension",
                location="query",
            )
        dimensions[name.strip()] = code.strip()
    return dimensions


def parse_period_bound(name: str, value: str | None) -> Period | None:
    if value is None:
        return None
    try:
        return Period.parse(value)
    except FieldProblem as problem:
        raise invalid(name, problem.message, location="query") from problem


@router.get(
    "",
    summary="Query observations",
    description="Filters combine with AND. `preferred=true` keeps one value per city, "
    "indicator, period, scope and breakdown: the most reliable source's, then the newest.",
    response_model=Page[ObservationRead],
)
async def list_observations(
    session: SessionDep,
    page: PageDep,
    city: Annotated[list[str] | None, Query(description="City codes.")] = None,
    indicator: Annotated[list[str] | None, Query(description="Indicator codes.")] = None,
    theme: Annotated[Theme | None, Query()] = None,
    period_from: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Periods starting on or after.")
    ] = None,
    period_to: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Periods ending on or before.")
    ] = None,
    scope: Annotated[str | None, Query(pattern=SCOPE_PATTERN)] = None,
    dimension: Annotated[
        list[str] | None, Query(description="Breakdown values, e.g. `sex=F` (repeatable).")
    ] = None,
    total: Annotated[bool, Query(description="Only totals (no breakdown).")] = False,
    status: Annotated[list[ObsStatus] | None, Query(description="SDMX statuses.")] = None,
    source_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    preferred: Annotated[bool, Query()] = False,
) -> Page[ObservationRead]:
    if total and dimension:
        raise invalid(
            "dimension",
            "totals have no breakdown: use either total=true or dimension",
            location="query",
        )
    start = parse_period_bound("period_from", period_from)
    end = parse_period_bound("period_to", period_to)
    criteria = ObservationFilter(
        cities=split_values(city),
        indicators=split_values(indicator),
        theme=theme,
        start=start.start if start else None,
        end=end.end if end else None,
        scope=scope,
        dimensions=parse_dimension_filter(dimension),
        total_only=total,
        statuses=[s.value for s in status or []],
        source_id=source_id,
        preferred=preferred,
    )
    rows = await ObservationRepository.from_session(session).query(criteria, page)
    return build_page(
        rows,
        page,
        key=lambda row: [row[0].city_code, row[0].indicator_code, row[0].period_start, row[0].id],
        item=lambda row: observation_read(row[0], row[1]),
    )


@router.post(
    "",
    summary="Upsert a batch of observations",
    description="Up to 5,000 observations, applied all together or not at all. An existing "
    "figure (same key and source) is updated only if its value, range, status or note "
    "differs; every change is kept in its history.",
    response_model=BatchResult,
    responses=problem_responses(401, 403),
)
async def upsert_observations(
    batch: ObservationBatchIn, session: SessionDep, principal: CurrentPrincipal
) -> BatchResult:
    return await service.write_batch(session, principal, batch)


@router.get(
    "/{observation_id}",
    summary="Get an observation",
    response_model=ObservationRead,
    responses=problem_responses(404),
)
async def get_observation(observation_id: ObservationId, session: SessionDep) -> ObservationRead:
    observation, source = await service.get_observation(session, observation_id)
    return observation_read(observation, source)


@router.delete(
    "/{observation_id}",
    summary="Withdraw an observation",
    description="The figure goes; its history keeps the value, who withdrew it and why.",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
async def delete_observation(
    observation_id: ObservationId,
    session: SessionDep,
    principal: CurrentPrincipal,
    reason: Annotated[str, Query(min_length=1, max_length=500)],
) -> None:
    await service.delete_observation(session, principal, observation_id, reason=reason)


def change_read(change: ObservationChange) -> ObservationChangeRead:
    return ObservationChangeRead(
        id=change.id,
        change=change.change,
        changed_at=change.changed_at,
        changed_by=change.changed_by,
        reason=change.reason,
        old_value=(change.old or {}).get("value"),
        new_value=(change.new or {}).get("value"),
        old=change.old,
        new=change.new,
        import_id=change.import_id,
    )


@router.get(
    "/{observation_id}/history",
    summary="Every change of an observation's value",
    description="Who changed it, when, from what to what and why; oldest first. Kept after the "
    "observation is withdrawn. Needs a token (it names the people who made the changes).",
    response_model=Page[ObservationChangeRead],
    responses=problem_responses(401, 404),
)
async def observation_history(
    observation_id: ObservationId,
    session: SessionDep,
    page: PageDep,
    principal: CurrentPrincipal,
) -> Page[ObservationChangeRead]:
    repository = ObservationRepository.from_session(session)
    changes = await repository.history(observation_id, page)
    if not changes and page.cursor is None:
        raise NotFound(f"No observation with id {observation_id}.", id=observation_id)
    return build_page(changes, page, key=lambda change: [change.id], item=change_read)
