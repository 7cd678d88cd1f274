from __future__ import annotations

from fastapi import APIRouter, Response

from services.profiles_api.sdmx import service
from shared.db import ReadSessionDep
from shared.openapi import problem_responses

router = APIRouter(prefix="/v1/sdmx", tags=["sdmx"])
STRUCTURE_XML = "application/vnd.sdmx.structure+xml;version=3.0.0"


@router.get(
    "/structure",
    summary="The SDMX structure of the platform's figures",
    description="An SDMX-ML 3.0 structure message: the dataflow `MC2CM:CITY_MIGRATION(1.0)`, "
    "its data structure (dimensions `REF_AREA`, `INDICATOR`, `SCOPE`, one per breakdown the "
    "catalogue declares, `TIME_PERIOD`; measure `OBS_VALUE`; attributes `OBS_STATUS`, "
    "`UNIT_MEASURE`, `SOURCE`, `OBS_VALUE_LOW`, `OBS_VALUE_HIGH`, `COMMENT`, `CONF_STATUS`), "
    "its concepts and the code lists generated from the catalogue (cities, indicators) and "
    "the platform's vocabularies. The code lists and the data structure take a new version "
    "(`1.0.<seconds since 1970 of the catalogue's last change>`, also in `SDMX-Version`) "
    "whenever a city or an indicator is created, changed or removed. `GET /v1/observations` "
    "with `format=sdmx-csv` answers data of this structure; `POST /v1/imports` reads it back.",
    response_class=Response,
    responses={
        200: {
            "description": "The structure message.",
            "content": {STRUCTURE_XML: {"schema": {"type": "string"}}},
            "headers": {
                "SDMX-Version": {
                    "description": "The version of the code lists and the data structure.",
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(),
    },
)
async def get_sdmx_structure(session: ReadSessionDep) -> Response:
    version, message = await service.structure(session)
    return Response(message, media_type=STRUCTURE_XML, headers={"SDMX-Version": version})
