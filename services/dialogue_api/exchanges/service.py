"""Exchanges of expertise: what a city offers or asks for on a theme, and the pairs the
network proposes and confirms.

Proposals are computed in one query (``ExchangeRepository.proposals``); confirming a pair locks
both exchanges, marks them matched and announces ``exchange.matched``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_person
from services.dialogue_api.cities.service import ensure_known_cities
from services.dialogue_api.db import events as outbox
from services.dialogue_api.exchanges.models import Exchange, ExchangeMatch
from services.dialogue_api.exchanges.repository import (
    ExchangeFilters,
    ExchangeRepository,
    ProposalRow,
)
from services.dialogue_api.exchanges.schemas import (
    TRANSITIONS,
    ExchangeCreate,
    ExchangeKind,
    ExchangeStatus,
    ExchangeUpdate,
    MatchCreate,
)
from services.dialogue_api.people.schemas import PersonSummary
from services.dialogue_api.people.service import get_person, visible_person_summaries
from shared.auth import Principal, ensure_city_editor
from shared.columns import apply_changes, column_values, stored
from shared.concurrency import check_if_match
from shared.contracts.events import ExchangeMatched
from shared.errors import Conflict, Forbidden, NotFound, field_error, invalid
from shared.pagination import PageParams


@dataclass(frozen=True)
class ExchangeWithContact:
    exchange: Exchange
    contact: PersonSummary | None


async def _with_contacts(
    session: AsyncSession, principal: Principal | None, exchanges: Sequence[Exchange]
) -> list[ExchangeWithContact]:
    contact_ids = [e.contact_id for e in exchanges if e.contact_id is not None]
    contacts = await visible_person_summaries(session, principal, contact_ids)
    return [
        ExchangeWithContact(e, contacts.get(e.contact_id) if e.contact_id else None)
        for e in exchanges
    ]


async def list_exchanges(
    session: AsyncSession, principal: Principal | None, page: PageParams, filters: ExchangeFilters
) -> list[ExchangeWithContact]:
    """A page of exchanges, by id, with the contacts the caller may see."""
    found = await ExchangeRepository.from_session(session).search(filters, page)
    return await _with_contacts(session, principal, found)


async def get_exchange(session: AsyncSession, exchange_id: int) -> Exchange:
    """The exchange ``exchange_id`` (404 if none)."""
    exchange = await ExchangeRepository.from_session(session).get(exchange_id)
    if exchange is None:
        raise NotFound(f"There is no exchange {exchange_id}.", id=exchange_id)
    return exchange


async def read_exchange(
    session: AsyncSession, principal: Principal | None, exchange_id: int
) -> ExchangeWithContact:
    """The exchange with its contact if the caller may see them."""
    return (await _with_contacts(session, principal, [await get_exchange(session, exchange_id)]))[0]


async def _check_contact(session: AsyncSession, principal: Principal, contact_id: int) -> None:
    """422 naming ``contact`` unless the person exists and the caller may see them (the same
    answer either way: an unlisted person's existence is not disclosed)."""
    try:
        person = await get_person(session, contact_id)
    except NotFound:
        person = None
    if person is None or not sees_person(
        principal, city_code=person.city_code, listed=person.consent_listed
    ):
        raise invalid("contact", f"there is no person {contact_id}", value=contact_id)


#: API field → column, where they differ.
_RENAMED = {"city": "city_code", "contact": "contact_id"}


async def create_exchange(
    session: AsyncSession, principal: Principal, payload: ExchangeCreate
) -> Exchange:
    """Record an offer or a request of a city the caller edits."""
    ensure_city_editor(principal, payload.city)
    await ensure_known_cities(session, {"city": payload.city})
    if payload.contact is not None:
        await _check_contact(session, principal, payload.contact)
    exchange = Exchange(**column_values(payload.model_dump(), renamed=_RENAMED))
    await ExchangeRepository.from_session(session).add(exchange)
    await session.refresh(exchange)
    return exchange


async def update_exchange(
    session: AsyncSession,
    principal: Principal,
    exchange_id: int,
    payload: ExchangeUpdate,
    *,
    if_match: str | None,
) -> Exchange:
    """Change an exchange of a city the caller edits; open or close it."""
    exchange = await get_exchange(session, exchange_id)
    ensure_city_editor(principal, exchange.city_code)
    check_if_match(if_match, exchange.version, resource="exchange")
    changes = payload.changes()
    _check_status(ExchangeStatus(exchange.status), changes.get("status"))
    if changes.get("contact") is not None:
        await _check_contact(session, principal, changes["contact"])
    theme = stored(changes.get("theme", exchange.theme))
    related = stored(changes.get("related_themes", exchange.related_themes))
    if theme in related:
        raise invalid("related_themes", "repeats the exchange's theme")
    # Every check that queries runs before the first change is set (a query would flush it).
    apply_changes(exchange, changes, renamed=_RENAMED)
    await ExchangeRepository.from_session(session).save_changes(exchange, resource="exchange")
    return exchange


def _check_status(current: ExchangeStatus, status: ExchangeStatus | None) -> None:
    """409 naming ``status`` unless a change may take the exchange from ``current`` to it."""
    if status is None or status == current or status in TRANSITIONS[current]:
        return
    raise Conflict(
        f"An exchange that is {current} cannot become {status}.",
        errors=[field_error("status", f"cannot go from {current} to {status}")],
    )


async def delete_exchange(
    session: AsyncSession, principal: Principal, exchange_id: int, *, if_match: str | None
) -> None:
    """Remove an exchange that was never matched (close it otherwise)."""
    exchange = await get_exchange(session, exchange_id)
    ensure_city_editor(principal, exchange.city_code)
    check_if_match(if_match, exchange.version, resource="exchange", required=False)
    repository = ExchangeRepository.from_session(session)
    if matches := await repository.matches_of(exchange_id):
        raise Conflict(
            f"Exchange {exchange_id} was matched; it stays as the record of its match.",
            matches=[match.id for match in matches],
        )
    await repository.delete(exchange)


#: The ranges of the ranking's key (two counts and a flag as PostgreSQL integers, then two
#: bigint ids): a cursor outside them was not made by this list.
_KEY_RANGES = (*[range(-(2**31), 2**31)] * 3, *[range(-(2**63) + 1, 2**63)] * 2)


def _proposal_key(cursor: Sequence[Any] | None) -> list[int] | None:
    """The ranking key a proposals cursor holds; 422 naming ``cursor`` if it holds none."""
    if cursor is None:
        return None
    if len(cursor) != len(_KEY_RANGES) or not all(
        isinstance(value, int) and not isinstance(value, bool) and value in allowed
        for value, allowed in zip(cursor, _KEY_RANGES, strict=True)
    ):
        raise invalid("cursor", "not a cursor returned by this list", location="query")
    return list(cursor)


@dataclass(frozen=True)
class ProposalWithExchanges:
    row: ProposalRow
    request: Exchange
    offer: Exchange


async def propose_matches(
    session: AsyncSession,
    *,
    city: str | None,
    theme: str | None,
    request: int | None,
    page: PageParams,
) -> list[ProposalWithExchanges]:
    """Ranked pairs of open requests and offers of other cities, one page (and one more row
    to tell whether there is a next page)."""
    repository = ExchangeRepository.from_session(session)
    rows = await repository.proposals(
        city=city,
        theme=theme,
        request=request,
        after=_proposal_key(page.cursor),
        limit=page.limit + 1,
    )
    exchanges = await repository.by_ids(
        sorted({row.request_id for row in rows} | {row.offer_id for row in rows})
    )
    return [
        ProposalWithExchanges(row, exchanges[row.request_id], exchanges[row.offer_id])
        for row in rows
    ]


async def confirm_match(
    session: AsyncSession, principal: Principal, request_id: int, payload: MatchCreate
) -> ExchangeMatch:
    """Pair an open request with an open offer of another city; both become matched."""
    repository = ExchangeRepository.from_session(session)
    locked = await repository.for_update(sorted({request_id, payload.offer}))
    request, offer = locked.get(request_id), locked.get(payload.offer)
    if request is None:
        raise NotFound(f"There is no exchange {request_id}.", id=request_id)
    if request.kind != ExchangeKind.request:
        raise invalid(
            "exchange_id", f"exchange {request_id} is an offer, not a request", location="path"
        )
    if offer is None:
        raise invalid("offer", f"there is no exchange {payload.offer}", value=payload.offer)
    if offer.kind != ExchangeKind.offer:
        raise invalid("offer", f"exchange {offer.id} is a request, not an offer")
    if offer.city_code == request.city_code:
        raise invalid("offer", "the offer is from the requesting city itself")
    if not (principal.can_edit_city(request.city_code) or principal.can_edit_city(offer.city_code)):
        raise Forbidden(
            "Only administrators and editors of one of the two cities may pair them.",
            cities=[request.city_code, offer.city_code],
        )
    if await repository.match_of_pair(request.id, offer.id) is not None:
        raise Conflict(f"Request {request.id} and offer {offer.id} are already paired.")
    not_open = [
        field_error(field, f"exchange {e.id} is {e.status}, not open", location=location)
        for field, location, e in (("exchange_id", "path", request), ("offer", "body", offer))
        if e.status != ExchangeStatus.open
    ]
    if not_open:
        raise Conflict("Only open exchanges can be paired.", errors=not_open)
    match = ExchangeMatch(
        request_id=request.id,
        offer_id=offer.id,
        request_city=request.city_code,
        offer_city=offer.city_code,
        matched_by=principal.subject,
    )
    session.add(match)
    for exchange in (request, offer):
        exchange.status = ExchangeStatus.matched
        await repository.save_changes(exchange, resource="exchange")
    await session.refresh(match)
    await outbox.add(
        session,
        ExchangeMatched(
            match_id=match.id,
            request_id=request.id,
            offer_id=offer.id,
            request_city=request.city_code,
            offer_city=offer.city_code,
            theme=request.theme,
        ),
        actor=principal.subject,
    )
    return match


async def matches_of(
    session: AsyncSession, exchange_id: int, page: PageParams
) -> Sequence[ExchangeMatch]:
    """A page of the confirmed matches of an exchange, oldest first."""
    await get_exchange(session, exchange_id)
    return await ExchangeRepository.from_session(session).matches_of(exchange_id, page)
