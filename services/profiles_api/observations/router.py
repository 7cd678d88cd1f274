from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import WithJsonSchema

from services.profiles_api.observations import service
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.export import EXPORT_COLUMNS
from services.profiles_api.observations.fields import PERIOD_PATTERN, SCOPE_PATTERN, ObsStatus
from services.profiles_api.observations.formats import EXPORTS, XLSX, OutputFormat, negotiated
from services.profiles_api.observations.query import parse_period_bound, split_values
from services.profiles_api.observations.repository import ObservationFilter
from services.profiles_api.observations.schemas import (
    BatchResult,
    ObservationBatchIn,
    ObservationChangeRead,
    ObservationRead,
)
from services.profiles_api.sdmx.export import MEDIA_TYPE as SDMX_CSV
from shared.auth import CurrentPrincipal
from shared.contracts.themes import Theme
from shared.db import ReadSessionDep, SessionDep, request_sessionmaker
from shared.errors import invalid
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page, page_response

router = APIRouter(prefix="/v1/observations", tags=["observations"])
ObservationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CSV = "text/csv"


_CSV_EXAMPLE = (
    ",".join(EXPORT_COLUMNS) + "\r\n"
    "ITTRN,foreign_nationals,2022,municipality,,135753,,,A,Osservatorio interistituzionale "
    "sugli stranieri 2023,Comune di Torino,https://www.comune.torino.it/,administrative,,shown"
    "\r\n"
    "ITTRN,foreign_nationals,2022,municipality,citizenship=TV,,,,A,Osservatorio "
    "interistituzionale sugli stranieri 2023,Comune di Torino,https://www.comune.torino.it/,"
    "administrative,,suppressed\r\n"
)


#: A breakdown filter documented as ``parse_dimension_filter`` reads it: a name, ``=``, a value
#: (no NUL: no query parameter may hold one).
DIMENSION_FILTER = WithJsonSchema({"type": "string", "pattern": "^[^=\\x00]+=[^\\x00]+$"})


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


@router.get(
    "",
    summary="Query observations",
    description="Filters combine with AND. `preferred=true` keeps one value per city, "
    "indicator, period, scope and breakdown: the most reliable source's, then the newest.\n\n"
    "Breakdowns of counts (`persons`, `count`) below the suppression threshold read as "
    "`value: null`, `status: suppressed` for callers who may not edit the city.\n\n"
    "**CSV export**: `format=csv`, or `Accept: text/csv`, answers every matching row (no "
    "pages: `limit` and `cursor` are refused) as a `text/csv` file in the import format "
    "(`POST /v1/imports`) plus a `status` column, streamed in the order of the pages.\n\n"
    "**XLSX export**: `format=xlsx`, or `Accept: " + XLSX + "`, answers the same rows as a "
    "spreadsheet: one sheet per theme (a value column per unit, named by it; dates as dates; "
    "text escaped as in the CSV), then `Sources` and `Notes on data`.\n\n"
    "**SDMX-CSV export**: `format=sdmx-csv`, or `Accept: " + SDMX_CSV + "`, answers the same "
    "rows as SDMX-CSV 2.0 data of the dataflow `MC2CM:CITY_MIGRATION(1.0)` "
    "(`GET /v1/sdmx/structure`); a suppressed value is empty with `CONF_STATUS` `C`.",
    response_model=Page[ObservationRead],
    responses={
        200: {
            "description": "A page of observations, or with `format=csv` / `Accept: text/csv` "
            "every matching observation as CSV.",
            # Every export format of the registry, the CSV one with its example.
            "content": {
                export.media_type: {"schema": {"type": "string", "format": "binary"}}
                for export in EXPORTS.values()
            }
            | {CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        },
        **problem_responses(),
    },
)
async def list_observations(
    request: Request,
    session: ReadSessionDep,
    page: PageDep,
    reader: ReaderDep,
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
        list[Annotated[str, DIMENSION_FILTER]] | None,
        Query(
            description="Breakdown values, e.g. `sex=F` (repeatable); not with `total=true` (422)."
        ),
    ] = None,
    total: Annotated[
        bool, Query(description="Only totals (no breakdown); not with `dimension` (422).")
    ] = False,
    status: Annotated[
        list[ObsStatus] | None, Query(description="SDMX statuses (`obs_status`).")
    ] = None,
    source_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    preferred: Annotated[bool, Query()] = False,
    output_format: Annotated[
        OutputFormat | None,
        Query(
            alias="format",
            description="`csv` for the CSV export (as `Accept: text/csv`), `xlsx` for the XLSX "
            "export, `sdmx-csv` for SDMX-CSV 2.0; wins over `Accept`.",
        ),
    ] = None,
) -> Page[ObservationRead] | Response:
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
    if output_format is None:
        output_format = negotiated(request.headers.get("accept"))
    if (export := EXPORTS.get(output_format)) is not None:
        for parameter in ("limit", "cursor"):
            if parameter in request.query_params:
                raise invalid(
                    parameter,
                    "an export holds every matching observation: drop limit and cursor",
                    location="query",
                )
        await service.check_export_size(session, criteria, export.max_theme_rows)
        tag = await service.export_etag(session, reader, criteria, export.content_type)
        batches = await service.export_observations(
            session, await request_sessionmaker(request), reader, criteria
        )
        writer = await export.writer(session)
        return StreamingResponse(
            writer(batches),
            media_type=export.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{export.filename}"',
                "ETag": tag,
                "Vary": "Accept",
            },
        )
    items = await service.list_observations(session, reader, criteria, page)
    return page_response(
        items,
        page,
        key=lambda item: [item["city"], item["indicator"], item["period_start"], item["id"]],
        item=lambda item: item,
        headers={"Vary": "Accept"},
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
async def get_observation(
    observation_id: ObservationId, session: SessionDep, reader: ReaderDep
) -> ObservationRead:
    return ObservationRead.model_validate(
        await service.read_observation(session, reader, observation_id)
    )


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
    reader: ReaderDep,
) -> Page[ObservationChangeRead]:
    changes = await service.observation_history(session, reader, observation_id, page)
    return build_page(changes, page, key=lambda change: [change.id], item=lambda change: change)
