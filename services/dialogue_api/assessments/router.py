from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.dialogue_api.assessments import service
from services.dialogue_api.assessments.schemas import AssessmentGapsRead, CityAssessmentGaps
from shared.auth import MaybePrincipal
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities", tags=["assessments"])


@router.get(
    "/{code}/assessment-gaps",
    summary="A city's assessment gaps and the recommendations that address them",
    description="For the city's latest published governance assessment of each framework "
    "(latest reference date; as profiles announced it), the indicators scoring below "
    "`threshold` (lowest first), each with the recommendations whose evidence cites that "
    "indicator of the city. Indicators without a score are not gaps. Anonymous callers see "
    "recommendations of public events only.",
    response_model=CityAssessmentGaps,
    responses=problem_responses(404, 422),
)
async def list_assessment_gaps(
    code: CityCodePath,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    threshold: Annotated[
        float,
        Query(ge=0, le=100, description="Scores below this are gaps (0-100).", examples=[50]),
    ] = 50,
) -> CityAssessmentGaps:
    found = await service.assessment_gaps(session, principal, code, threshold)
    return CityAssessmentGaps(
        city=code,
        threshold=threshold,
        assessments=[AssessmentGapsRead.of(item, languages) for item in found],
    )
