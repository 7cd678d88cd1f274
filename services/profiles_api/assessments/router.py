from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments import gaps, service
from services.profiles_api.assessments.models import Assessment
from services.profiles_api.assessments.schemas import (
    AnswerRead,
    AnswerWrite,
    AssessmentChangeRead,
    AssessmentCreate,
    AssessmentRead,
    AssessmentTransition,
    Gaps,
)
from services.profiles_api.frameworks.document import CODE_PATTERN
from services.profiles_api.frameworks.models import Framework
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities/{code}/assessments", tags=["assessments"])
AssessmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
QuestionPath = Annotated[str, Path(pattern=CODE_PATTERN, examples=["lab_1a"])]
IfNoneMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="`*` to write a question's first answer (412 if it has one already).",
    ),
]


async def _read(
    session: AsyncSession, assessment: Assessment, framework: Framework, *, show_people: bool
) -> AssessmentRead:
    scores = await service.scores_of(session, assessment)
    return AssessmentRead.of(assessment, framework, scores, show_people=show_people)


@router.get(
    "",
    summary="List a city's assessments",
    description="The published ones without a token; every one with a token.",
    response_model=Page[AssessmentRead],
    responses=problem_responses(404),
)
async def list_assessments(
    code: CityCodePath, session: SessionDep, principal: MaybePrincipal
) -> Page[AssessmentRead]:
    found = await service.list_assessments(session, principal, code)
    shown = principal is not None
    return Page[AssessmentRead](
        items=[await _read(session, a, f, show_people=shown) for a, f in found]
    )


@router.post(
    "",
    summary="Open an assessment",
    description="A draft for one published framework version, with the date its answers "
    "describe the city's policies as of (kept apart from when they are entered).",
    status_code=status.HTTP_201_CREATED,
    response_model=AssessmentRead,
    responses=problem_responses(401, 403, 404),
)
async def create_assessment(
    code: CityCodePath,
    payload: AssessmentCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> AssessmentRead:
    assessment, framework = await service.create_assessment(session, principal, code, payload)
    response.headers["Location"] = f"/v1/cities/{code}/assessments/{assessment.id}"
    return represented(response, await _read(session, assessment, framework, show_people=True))


@router.get(
    "/{assessment_id}",
    summary="Get an assessment with its scores",
    description="The overall score, each area's and each indicator's, each with its "
    "completeness; a score is null with its reason when the answers do not give one. "
    "Without a token, published assessments only (401 otherwise).",
    response_model=AssessmentRead,
    responses=problem_responses(401, 404),
)
async def get_assessment(
    code: CityCodePath,
    assessment_id: AssessmentId,
    session: SessionDep,
    principal: MaybePrincipal,
    response: Response,
) -> AssessmentRead:
    assessment, framework = await service.get_assessment(session, principal, code, assessment_id)
    read = await _read(session, assessment, framework, show_people=principal is not None)
    return represented(response, read)


@router.post(
    "/{assessment_id}/status",
    summary="Move an assessment through review and publication",
    description="draft → submitted → validated → published; submitted or validated → draft "
    "with a `comment`. Four eyes: the person who submitted may not validate (403); an admin "
    "or another editor of the city does. `If-Match` required.",
    response_model=AssessmentRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def transition_assessment(
    code: CityCodePath,
    assessment_id: AssessmentId,
    payload: AssessmentTransition,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
) -> AssessmentRead:
    assessment, framework = await service.transition(
        session, principal, code, assessment_id, payload, if_match=if_match
    )
    return represented(response, await _read(session, assessment, framework, show_people=True))


@router.get(
    "/{assessment_id}/answers",
    summary="List an assessment's answers",
    response_model=Page[AnswerRead],
    responses=problem_responses(401, 404),
)
async def list_assessment_answers(
    code: CityCodePath, assessment_id: AssessmentId, session: SessionDep, principal: MaybePrincipal
) -> Page[AnswerRead]:
    answers = await service.list_answers(session, principal, code, assessment_id)
    shown = principal is not None
    return Page[AnswerRead](items=[AnswerRead.of(a, show_people=shown) for a in answers])


@router.get(
    "/{assessment_id}/answers/{question}",
    summary="Get an answer",
    response_model=AnswerRead,
    responses=problem_responses(401, 404),
)
async def get_assessment_answer(
    code: CityCodePath,
    assessment_id: AssessmentId,
    question: QuestionPath,
    session: SessionDep,
    principal: MaybePrincipal,
    response: Response,
) -> AnswerRead:
    answer = await service.get_answer(session, principal, code, assessment_id, question)
    return represented(response, AnswerRead.of(answer, show_people=principal is not None))


@router.put(
    "/{assessment_id}/answers/{question}",
    summary="Answer a question",
    description="An option (its value as the framework gives it), or `not_applicable` (left "
    "out of the scores, the weights rescaled) or `unknown` (left out and counted as unknown), "
    "with a comment and evidence: the city's sources, observations or profile sections, or "
    "URLs. The framework may require evidence for an answer scoring above 0. The first "
    "answer is written with `If-None-Match: *` (201), later ones with `If-Match` (200). The "
    "scores are recomputed at once: read the assessment for them. Drafts only (409).",
    response_model=AnswerRead,
    responses={
        201: {"description": "Created", "model": AnswerRead},
        **problem_responses(401, 403, 404, 409, 412, 428),
    },
)
async def write_assessment_answer(
    code: CityCodePath,
    assessment_id: AssessmentId,
    question: QuestionPath,
    payload: AnswerWrite,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
    if_none_match: IfNoneMatchHeader = None,
) -> AnswerRead:
    answer, created = await service.write_answer(
        session,
        principal,
        code,
        assessment_id,
        question,
        payload,
        if_match=if_match,
        if_none_match=if_none_match,
    )
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = (
            f"/v1/cities/{code}/assessments/{assessment_id}/answers/{question}"
        )
    return represented(response, AnswerRead.of(answer))


@router.get(
    "/{assessment_id}/history",
    summary="Get an assessment's history",
    description="Every status change (with its comment) and every answer written (what it "
    "was and became), oldest first. Who did it is shown to token holders only.",
    response_model=Page[AssessmentChangeRead],
    responses=problem_responses(401, 404),
)
async def list_assessment_history(
    code: CityCodePath,
    assessment_id: AssessmentId,
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
) -> Page[AssessmentChangeRead]:
    changes = await service.history(session, principal, code, assessment_id, page)
    shown = principal is not None
    return build_page(
        changes,
        page,
        key=lambda change: [change.id],
        item=lambda change: AssessmentChangeRead.of(change, show_people=shown),
    )


@router.get(
    "/{assessment_id}/gaps",
    summary="List an assessment's gaps",
    description="The indicators scoring below `threshold` (default 50), lowest first, each "
    "with the city's challenges that name it: where the city's needs meet its weakest areas. "
    "Indicators without a score are not gaps (see their reason in the assessment).",
    response_model=Gaps,
    responses=problem_responses(401, 404),
)
async def list_assessment_gaps(
    code: CityCodePath,
    assessment_id: AssessmentId,
    session: SessionDep,
    principal: MaybePrincipal,
    threshold: Annotated[float, Query(ge=0, le=100)] = 50,
) -> Gaps:
    return await gaps.gaps(session, principal, code, assessment_id, threshold)
