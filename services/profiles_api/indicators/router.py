from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.profiles_api.indicators import service
from services.profiles_api.indicators.schemas import (
    IndicatorCreate,
    IndicatorRead,
    IndicatorUpdate,
    Unit,
)
from shared.auth import AdminPrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.indicators import INDICATOR_CODE_PATTERN
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/indicators", tags=["indicators"])
CodePath = Annotated[str, Path(pattern=INDICATOR_CODE_PATTERN, examples=["foreign_nationals"])]


@router.get("", summary="List the indicator catalogue", response_model=Page[IndicatorRead])
async def list_indicators(
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    theme: Annotated[Theme | None, Query()] = None,
    unit: Annotated[Unit | None, Query()] = None,
) -> Page[IndicatorRead]:
    indicators = await service.list_indicators(session, page, theme=theme, unit=unit)
    return build_page(
        indicators,
        page,
        key=lambda indicator: [indicator.code],
        item=lambda indicator: IndicatorRead.of(indicator, languages),
    )


@router.post(
    "",
    summary="Add an indicator to the catalogue",
    status_code=status.HTTP_201_CREATED,
    response_model=IndicatorRead,
    responses=problem_responses(401, 403, 409),
)
async def create_indicator(
    payload: IndicatorCreate,
    session: SessionDep,
    principal: AdminPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> IndicatorRead:
    indicator = await service.create_indicator(session, principal, payload)
    response.headers["Location"] = f"{router.prefix}/{indicator.code}"
    return represented(response, IndicatorRead.of(indicator, languages))


@router.get(
    "/{code}",
    summary="Get an indicator",
    response_model=IndicatorRead,
    responses=problem_responses(404),
)
async def get_indicator(
    code: CodePath, session: SessionDep, languages: LanguagesDep, response: Response
) -> IndicatorRead:
    indicator = await service.get_indicator(session, code)
    return represented(response, IndicatorRead.of(indicator, languages))


@router.patch(
    "/{code}",
    summary="Change an indicator's definition",
    response_model=IndicatorRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_indicator(
    code: CodePath,
    payload: IndicatorUpdate,
    session: SessionDep,
    principal: AdminPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> IndicatorRead:
    indicator = await service.update_indicator(session, principal, code, payload, if_match=if_match)
    return represented(response, IndicatorRead.of(indicator, languages))


@router.delete(
    "/{code}",
    summary="Remove an unused indicator",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_indicator(
    code: CodePath,
    session: SessionDep,
    principal: AdminPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_indicator(session, principal, code, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
