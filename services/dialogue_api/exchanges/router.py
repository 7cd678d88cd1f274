from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.exchanges import service
from services.dialogue_api.exchanges.repository import ExchangeFilters
from services.dialogue_api.exchanges.schemas import (
    ExchangeCreate,
    ExchangeKind,
    ExchangeRead,
    ExchangeStatus,
    ExchangeUpdate,
    MatchCreate,
    MatchRead,
    Proposal,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import CITY_CODE_PATTERN
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.i18n import LANGUAGE_TAG_PATTERN, Languages, LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/exchanges", tags=["exchanges"])
ExchangeId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CityQuery = Annotated[str | None, Query(pattern=CITY_CODE_PATTERN)]


def _read(found: service.ExchangeWithContact, languages: Languages) -> ExchangeRead:
    return ExchangeRead.of(found.exchange, languages, found.contact)


@router.get(
    "",
    summary="List offers and requests of expertise",
    response_model=Page[ExchangeRead],
)
async def list_exchanges(
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    principal: MaybePrincipal,
    kind: Annotated[ExchangeKind | None, Query()] = None,
    city: CityQuery = None,
    theme: Annotated[Theme | None, Query(description="The theme or a related theme.")] = None,
    status: Annotated[ExchangeStatus | None, Query()] = None,
    language: Annotated[str | None, Query(pattern=LANGUAGE_TAG_PATTERN)] = None,
) -> Page[ExchangeRead]:
    filters = ExchangeFilters(
        kind=kind.value if kind else None,
        city=city,
        theme=theme.value if theme else None,
        status=status.value if status else None,
        language=language,
    )
    found = await service.list_exchanges(session, principal, page, filters)
    return build_page(
        found, page, key=lambda item: [item.exchange.id], item=lambda item: _read(item, languages)
    )


@router.get(
    "/matches",
    summary="Propose pairs of open requests and offers",
    description="Each open request with the open offers of other cities on its theme, ranked "
    "by the themes they share, then the languages they share, then cities not yet paired "
    "before, then newer requests first.",
    response_model=Page[Proposal],
)
async def propose_matches(
    session: SessionDep,
    page: PageDep,
    languages: LanguagesDep,
    city: Annotated[
        str | None, Query(pattern=CITY_CODE_PATTERN, description="Either side's city.")
    ] = None,
    theme: Annotated[Theme | None, Query(description="The request's theme.")] = None,
    request: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[Proposal]:
    found = await service.propose_matches(
        session, city=city, theme=theme.value if theme else None, request=request, page=page
    )
    return build_page(
        found,
        page,
        key=lambda proposal: proposal.row.key,
        item=lambda proposal: Proposal.of(
            proposal.row, proposal.request, proposal.offer, languages
        ),
    )


@router.post(
    "",
    summary="Offer or request expertise",
    status_code=status.HTTP_201_CREATED,
    response_model=ExchangeRead,
    responses=problem_responses(401, 403),
)
async def create_exchange(
    payload: ExchangeCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> ExchangeRead:
    exchange = await service.create_exchange(session, principal, payload)
    response.headers["Location"] = f"/v1/exchanges/{exchange.id}"
    found = await service.read_exchange(session, principal, exchange.id)
    return represented(response, _read(found, languages))


@router.get(
    "/{exchange_id}",
    summary="Get an offer or request",
    response_model=ExchangeRead,
    responses=problem_responses(404),
)
async def get_exchange(
    exchange_id: ExchangeId,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> ExchangeRead:
    found = await service.read_exchange(session, principal, exchange_id)
    return represented(response, _read(found, languages))


@router.patch(
    "/{exchange_id}",
    summary="Change, close or reopen an offer or request",
    response_model=ExchangeRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_exchange(
    exchange_id: ExchangeId,
    payload: ExchangeUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> ExchangeRead:
    await service.update_exchange(session, principal, exchange_id, payload, if_match=if_match)
    found = await service.read_exchange(session, principal, exchange_id)
    return represented(response, _read(found, languages))


@router.delete(
    "/{exchange_id}",
    summary="Remove an offer or request that was never matched",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_exchange(
    exchange_id: ExchangeId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_exchange(session, principal, exchange_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{exchange_id}/matches",
    summary="Pair a request with an offer",
    description="Admins and editors of either city confirm a proposed pair; both exchanges "
    "become matched and `exchange.matched` is announced. 422 naming `exchange_id` or `offer` "
    "when one is of the wrong kind or both are of one city; 409 when one is not open or the "
    "pair was already confirmed.",
    status_code=status.HTTP_201_CREATED,
    response_model=MatchRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def confirm_match(
    exchange_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The request's id.")],
    payload: MatchCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> MatchRead:
    match = await service.confirm_match(session, principal, exchange_id, payload)
    response.headers["Location"] = f"/v1/exchanges/{exchange_id}/matches"
    return MatchRead.of(match, show_author=True)


@router.get(
    "/{exchange_id}/matches",
    summary="List the confirmed matches of an exchange",
    response_model=Page[MatchRead],
    responses=problem_responses(404),
)
async def list_matches(
    exchange_id: ExchangeId, session: SessionDep, page: PageDep, principal: MaybePrincipal
) -> Page[MatchRead]:
    matches = await service.matches_of(session, exchange_id, page)
    # Who confirmed is a token subject (often an e-mail address): not for anonymous readers.
    return build_page(
        matches,
        page,
        key=lambda match: [match.id],
        item=lambda match: MatchRead.of(match, show_author=principal is not None),
    )
