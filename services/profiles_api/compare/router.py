from __future__ import annotations

import enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.profiles_api.compare import service
from services.profiles_api.compare.schemas import ComparedValue, Comparison
from services.profiles_api.compare.xlsx import comparison_xlsx
from services.profiles_api.indicators.schemas import Unit
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import (
    PERIOD_PATTERN,
    FieldProblem,
    ObsStatus,
)
from services.profiles_api.observations.query import parse_period_bound, split_values
from services.profiles_api.observations.schemas import SourceSummary
from shared.db import SessionDep
from shared.errors import invalid
from shared.i18n import LanguagesDep
from shared.negotiation import preferred_media_type
from shared.openapi import problem_responses
from shared.tabular import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/v1/compare", tags=["compare"])
MAX_COMPARED = 50
#: The query parameter that names each field the service may find a problem with.
_FIELD_TO_PARAMETER = {"indicator": "indicator", "city": "cities"}


class CompareFormat(enum.StrEnum):
    json = "json"
    xlsx = "xlsx"


_MEDIA_TYPES = {"application/json": CompareFormat.json, XLSX_MEDIA_TYPE: CompareFormat.xlsx}


@router.get(
    "",
    summary="Compare cities on one measure",
    description="For each city, the latest preferred total of the indicator (or of the first "
    "of several listed indicators the city has a value for, e.g. "
    "`indicator=foreign_born,immigrants,foreign_nationals`), within `period` if given. "
    "`warnings` says when the values differ in population concept, unit, scope or period, "
    "when one is an estimate, and which cities have no value.\n\n"
    "**XLSX**: `format=xlsx`, or `Accept: " + XLSX_MEDIA_TYPE + "`, answers the comparison "
    "as a spreadsheet: sheet `Comparison` (the values under a header naming their unit, each "
    "warning as a comment on the cells it is about) and sheet `Warnings`.",
    response_model=Comparison,
    responses={
        200: {
            "description": "The comparison, as JSON or (`format=xlsx`) as an XLSX file.",
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(),
    },
)
async def compare_cities(
    request: Request,
    session: SessionDep,
    languages: LanguagesDep,
    reader: ReaderDep,
    indicator: Annotated[
        list[str],
        Query(
            description="Indicator code(s), in order of preference (comma-separated or "
            "repeated); at least one, 422 otherwise."
        ),
    ],
    cities: Annotated[
        list[str],
        Query(
            description=f"City codes (comma-separated or repeated); 1 to {MAX_COMPARED}, "
            "422 otherwise."
        ),
    ],
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="Only values within this period.")
    ] = None,
    output_format: Annotated[
        CompareFormat | None,
        Query(alias="format", description="`xlsx` for a spreadsheet; wins over `Accept`."),
    ] = None,
) -> Comparison | Response:
    indicators = list(dict.fromkeys(split_values(indicator)))
    city_codes = list(dict.fromkeys(split_values(cities)))
    if not indicators:
        raise invalid("indicator", "name at least one indicator", location="query")
    if not city_codes or len(city_codes) > MAX_COMPARED:
        raise invalid("cities", f"name 1 to {MAX_COMPARED} cities", location="query")
    within = parse_period_bound("period", period)
    try:
        matches = await service.compare(
            session, reader, indicators=indicators, cities=city_codes, period=within
        )
    except FieldProblem as problem:
        parameter = _FIELD_TO_PARAMETER[problem.field]
        raise invalid(parameter, problem.message, location="query") from problem
    values = []
    for city, observation, source, definition, shown in matches:
        values.append(
            ComparedValue(
                city=city.code,
                city_name=languages.text(city.names) or city.code,
                indicator=definition.code if definition else None,
                unit=Unit(definition.unit) if definition else None,
                population_concept=definition.population_concept if definition else None,
                period=observation.period if observation else None,
                scope=observation.scope if observation else None,
                value=shown.value,
                value_low=shown.value_low,
                value_high=shown.value_high,
                obs_status=ObsStatus(observation.obs_status) if observation else None,
                status=shown.status,
                estimate=service.is_estimate(observation) if observation else False,
                source=SourceSummary.of(source) if source else None,
                observation_id=observation.id if observation else None,
            )
        )
    comparison = Comparison(
        indicators=indicators,
        period=period,
        values=values,
        warnings=service.comparability_warnings(matches),
    )
    if output_format is None:
        accept = request.headers.get("accept")
        output_format = _MEDIA_TYPES[preferred_media_type(accept, list(_MEDIA_TYPES))]
    if output_format is CompareFormat.xlsx:
        return Response(
            comparison_xlsx(comparison),
            media_type=XLSX_MEDIA_TYPE,
            headers={
                "Content-Disposition": 'attachment; filename="comparison.xlsx"',
                "Vary": "Accept, Accept-Language",
            },
        )
    return comparison
