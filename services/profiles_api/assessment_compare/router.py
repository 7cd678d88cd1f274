from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from services.profiles_api.assessment_compare import service
from services.profiles_api.assessment_compare.schemas import AssessmentComparison
from services.profiles_api.frameworks.document import CODE_PATTERN, VERSION_PATTERN
from services.profiles_api.observations.query import split_values
from services.profiles_api.reports.labels import report_language
from shared.auth import MaybePrincipal
from shared.db import SessionDep
from shared.i18n import LANGUAGE_TAG_PATTERN, Languages, LanguagesDep
from shared.openapi import problem_responses
from shared.params import CityCodePath, DateQuery

router = APIRouter(prefix="/v1", tags=["assessments"])

FrameworkQuery = Annotated[
    str,
    Query(
        pattern=CODE_PATTERN,
        description="The framework's code; 422 if no version of it is published.",
        examples=["icc_city"],
    ),
]
CitiesQuery = Annotated[
    list[str],
    Query(
        description=f"City codes (comma-separated or repeated), 1 to {service.MAX_COMPARED}; "
        "422 naming the unknown ones.",
        examples=["PTLIS,ESMAD"],
    ),
]
VersionQuery = Annotated[
    str | None,
    Query(
        pattern=VERSION_PATTERN,
        description="Compare this version's assessments only; by default each city's latest "
        "assessment, whatever its version.",
        examples=["1.0"],
    ),
]
ReferenceDateQuery = Annotated[
    DateQuery | None,
    Query(
        description="Compare each city's latest assessment whose reference date is on or "
        "before this date (its policies as of then); by default its latest.",
        examples=["2026-06-30"],
    ),
]
LangQuery = Annotated[
    str | None,
    Query(
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=16,
        description="The chart's language (`en`, `fr` or `ar`); overrides `Accept-Language`.",
        examples=["fr"],
    ),
]
AssessmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]

_SPEC_EXAMPLE = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "title": {"text": "ICC-style city index: areas compared", "subtitle": []},
    "description": "Area scores of ICC-style city index for Lisbon, Madrid. Commitment: "
    "Lisbon 75, Madrid 50, median 62.5 (n = 2); …",
    "data": {"values": [{"kind": "city", "city": "PTLIS", "area": "commitment", "score": 75}]},
    "layer": [{"mark": {"type": "bar"}}, {"mark": {"type": "tick"}}],
    "usermeta": {"left_out": [{"city": "ESMAD", "area": "education", "reason": "no_score"}]},
}
_CHART_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The chart's Vega-Lite spec.",
        "content": {"application/json": {"example": _SPEC_EXAMPLE}},
    },
}

_RULES = (
    "Published assessments only: each city's latest (by reference date; as of "
    "`reference_date` when given; of `version` when given), and every published one of the "
    "framework in the city's `series`, latest first. Assessments of one version compare on "
    "their own scores. Of several versions, every score is recomputed over the questions the "
    "versions share (same indicator, weight and options), by the newest version's rules, and "
    "a `version_mismatch` warning names the versions, the questions left out and the areas "
    "they touch. A framework that is not rankable gives no rank and keeps the cities in the "
    "order asked; a rankable one ranks by overall score (ties share a rank: 1, 2, 2, 4) and "
    "sorts by it. `medians` gives the median of each area over the compared cities, and `n`, "
    "how many cities it is over."
)


def _cities(cities: list[str]) -> list[str]:
    return list(dict.fromkeys(code.upper() for code in split_values(cities)))


def _language(lang: str | None, languages: Languages) -> str:
    """``?lang=`` first, then the caller's ``Accept-Language``; English otherwise."""
    return report_language(Languages.from_header(lang) if lang else languages)


@router.get(
    "/assessments/compare",
    summary="Compare cities' published assessments of one framework",
    description=_RULES,
    response_model=AssessmentComparison,
    responses=problem_responses(),
)
async def compare_assessments(
    session: SessionDep,
    languages: LanguagesDep,
    framework: FrameworkQuery,
    cities: CitiesQuery,
    version: VersionQuery = None,
    reference_date: ReferenceDateQuery = None,
) -> AssessmentComparison:
    return await service.compare(
        session,
        framework=framework,
        cities=_cities(cities),
        version=version,
        reference_date=reference_date,
        languages=languages,
    )


@router.get(
    "/assessments/compare/chart",
    summary="Cities' assessments compared, as a Vega-Lite spec",
    description="The comparison of `GET /v1/assessments/compare` (same parameters and rules) "
    "as a Vega-Lite v5 bar chart: per area, the cities' scores side by side (by rank when "
    "the framework is rankable, as asked when not: never by score), the network's median a "
    "tick. A null score is not drawn (never as 0) and is named in `usermeta.left_out`; the "
    "text alternative in `description`.",
    responses={**_CHART_RESPONSES, **problem_responses()},
)
async def get_assessment_compare_chart(
    session: SessionDep,
    languages: LanguagesDep,
    response: Response,
    framework: FrameworkQuery,
    cities: CitiesQuery,
    version: VersionQuery = None,
    reference_date: ReferenceDateQuery = None,
    lang: LangQuery = None,
) -> dict[str, Any]:
    language = _language(lang, languages)
    response.headers["Content-Language"] = language
    return await service.compare_chart_spec(
        session,
        framework=framework,
        cities=_cities(cities),
        version=version,
        reference_date=reference_date,
        language=language,
    )


@router.get(
    "/cities/{code}/assessments/{assessment_id}/chart",
    summary="An assessment's area scores against the network median, as a Vega-Lite spec",
    description="A Vega-Lite v5 bar chart of the assessment's area scores, with the median "
    "(and n) of the network's published assessments of the same framework version (each "
    "city's latest) as a tick. A null score is not drawn and is named in "
    "`usermeta.left_out`. Without a token, published assessments only (401 otherwise).",
    responses={**_CHART_RESPONSES, **problem_responses(401, 404)},
)
async def get_assessment_chart(
    code: CityCodePath,
    assessment_id: AssessmentId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
    lang: LangQuery = None,
) -> dict[str, Any]:
    language = _language(lang, languages)
    response.headers["Content-Language"] = language
    return await service.assessment_chart_spec(session, principal, code, assessment_id, language)
