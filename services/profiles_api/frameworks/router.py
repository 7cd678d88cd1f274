from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.profiles_api.frameworks import service
from services.profiles_api.frameworks.document import (
    CODE_PATTERN,
    VERSION_PATTERN,
    FrameworkDocument,
)
from services.profiles_api.frameworks.schemas import FrameworkRead, FrameworkSummary
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page

router = APIRouter(prefix="/v1/assessment-frameworks", tags=["assessments"])
CodePath = Annotated[str, Path(pattern=CODE_PATTERN, examples=["mipex_city"])]
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN, examples=["1.0"])]


def _etag(framework_hash: str) -> str:
    return f'"{framework_hash}"'


@router.get(
    "",
    summary="List the assessment frameworks",
    description="Every published version of every framework (a few: one page holds them all).",
    response_model=Page[FrameworkSummary],
)
async def list_assessment_frameworks(session: SessionDep) -> Page[FrameworkSummary]:
    frameworks = await service.list_frameworks(session)
    return Page[FrameworkSummary](items=[FrameworkSummary.of(f) for f in frameworks])


@router.post(
    "",
    summary="Publish a framework version",
    description="A framework version as a document: areas → indicators → questions → "
    "options, with weights, the aggregation of each level and its `min_answered` share. "
    "Published versions never change: the same version again with the same content answers "
    "200 with it; with other content 409 (publish a new version). A document the schema "
    "refuses is a 422 naming each fault by its JSON pointer (a repeated code, an option "
    "outside 0-100, weights that sum to 0, a key the schema does not have).",
    status_code=201,
    response_model=FrameworkRead,
    responses={
        200: {"description": "Already published, unchanged", "model": FrameworkRead},
        **problem_responses(401, 403, 409),
    },
)
async def publish_assessment_framework(
    document: FrameworkDocument,
    session: SessionDep,
    principal: AdminPrincipal,
    response: Response,
) -> FrameworkRead:
    framework, created = await service.publish(session, document, actor=principal.subject)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"{router.prefix}/{framework.code}/{framework.version}"
    response.headers["ETag"] = _etag(framework.content_hash)
    return FrameworkRead.of(framework)


@router.get(
    "/{code}/{version}",
    summary="Get a framework version",
    description="The version's document as published; its ETag is its content hash.",
    response_model=FrameworkRead,
    responses=problem_responses(404),
)
async def get_assessment_framework(
    code: CodePath, version: VersionPath, session: SessionDep, response: Response
) -> FrameworkRead:
    framework = await service.get_framework(session, code, version)
    response.headers["ETag"] = _etag(framework.content_hash)
    return FrameworkRead.of(framework)
