from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.profiles_api.imports import service
from services.profiles_api.imports.schemas import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportResult,
)
from services.profiles_api.imports.sdmx_rows import MEDIA_TYPE as SDMX_CSV
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import UnsupportedMediaType
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_EXAMPLE = (
    "city,indicator,period,scope,dimension,value,value_low,value_high,obs_status,"
    "source_title,source_publisher,source_url,source_kind,note\n"
    "ITTRN,foreign_nationals,2022,municipality,,135753,,,A,Osservatorio interistituzionale "
    "sugli stranieri 2023,Comune di Torino,https://www.comune.torino.it/,administrative,\n"
)

_SDMX_EXAMPLE = (
    "STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,INDICATOR,SCOPE,AGE_GROUP,CITIZENSHIP,SEX,"
    "TIME_PERIOD,OBS_VALUE,OBS_STATUS,UNIT_MEASURE,SOURCE,OBS_VALUE_LOW,OBS_VALUE_HIGH,COMMENT,"
    "CONF_STATUS\r\n"
    "dataflow,MC2CM:CITY_MIGRATION(1.0),I,ITTRN,foreign_nationals,municipality,_T,_T,_T,2022,"
    "135753,A,persons,Osservatorio interistituzionale sugli stranieri 2023,,,,F\r\n"
)


@router.post(
    "",
    summary="Import figures from a CSV file",
    description="The body is a `text/csv` file in the tidy format: one observation a row, "
    f"columns {', '.join(REQUIRED_COLUMNS)} (required) and {', '.join(OPTIONAL_COLUMNS)}. "
    "Sources named in a row are matched by title and URL, or created. The file is applied "
    "all or nothing: a 422 lists every rejected row with its number (the header is row 1), "
    "column and reason. `dry_run=true` validates and reports what would change, writing "
    "nothing.\n\n"
    f"**SDMX-CSV 2.0**: sent as `{SDMX_CSV};version=2.0.0`, the file holds rows of "
    "`MC2CM:CITY_MIGRATION(1.0)` (`GET /v1/sdmx/structure`), as `GET /v1/observations"
    "?format=sdmx-csv` writes them, and goes through the same pipeline; errors name the SDMX "
    "columns. `ACTION` `I`, `A`, `M` or `R` (or empty) upserts the observation a row names, "
    "nothing else; `D` withdraws it, and then `reason` is required. `SOURCE` is a source's "
    "title: the source of that title, or a new one.",
    response_model=ImportResult,
    responses=problem_responses(401, 403, 415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": _EXAMPLE},
                f"{SDMX_CSV};version=2.0.0": {
                    "schema": {"type": "string"},
                    "example": _SDMX_EXAMPLE,
                },
            },
        }
    },
)
async def import_figures(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    dry_run: Annotated[bool, Query(description="Validate only; write nothing.")] = False,
    reason: Annotated[
        str | None,
        Query(min_length=1, max_length=500, description="Why (kept in each value's history)."),
    ] = None,
) -> ImportResult:
    settings = request.app.state.settings
    content_type = request.headers.get("content-type", "")
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    sdmx = media_type == SDMX_CSV
    if sdmx and not {"version=2.0.0", "version=2.0"} & set(parameters):
        raise UnsupportedMediaType(
            f"SDMX-CSV is read in version 2.0.0: send {SDMX_CSV};version=2.0.0."
        )
    if media_type != "text/csv" and not sdmx:
        raise UnsupportedMediaType(
            f"Send the file as text/csv or {SDMX_CSV};version=2.0.0 "
            f"(got {media_type or 'no content type'})."
        )
    return await service.import_csv(
        session,
        principal,
        request.stream(),
        dry_run=dry_run,
        reason=reason,
        max_reported_errors=settings.import_max_reported_errors,
        statement_timeout_seconds=settings.import_statement_timeout_seconds,
        sdmx=sdmx,
    )
