from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, text

from services.dialogue_api.exchanges.models import Exchange, ExchangeMatch
from shared.pagination import PageParams, keyset
from shared.repository import Repository


@dataclass(frozen=True)
class ExchangeFilters:
    kind: str | None = None
    city: str | None = None
    theme: str | None = None
    status: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ProposalRow:
    request_id: int
    offer_id: int
    shared_themes: list[str]
    shared_languages: list[str]
    paired_before: bool
    #: The sort key, all ascending: fewer shared themes and languages sort later, pairs of
    #: cities already paired later, newer requests first.
    key: tuple[int, int, int, int, int]


# An offer answers a request when the request's theme is among the offer's themes; pairs are
# ranked by the themes and languages they share and whether their cities were paired before.
# One statement: exchange joined to itself, the city pairs already matched joined once (a hash
# join, not a lookup per pair), the ranking's key computed as columns the cursor compares.
_PROPOSALS = """
WITH paired AS (
    SELECT DISTINCT LEAST(request_city, offer_city) AS city_a,
                    GREATEST(request_city, offer_city) AS city_b
      FROM dialogue.exchange_match
), pair AS (
    SELECT r.id AS request_id, o.id AS offer_id,
           ARRAY(SELECT unnest(r.related_themes || r.theme)
                 INTERSECT SELECT unnest(o.related_themes || o.theme) ORDER BY 1) AS shared_themes,
           ARRAY(SELECT unnest(r.languages) INTERSECT SELECT unnest(o.languages) ORDER BY 1)
               AS shared_languages,
           paired.city_a IS NOT NULL AS paired_before
      FROM dialogue.exchange r
      JOIN dialogue.exchange o
        ON o.kind = 'offer' AND o.status = 'open' AND o.city_code <> r.city_code
       AND r.theme = ANY (o.related_themes || o.theme)
      LEFT JOIN paired
        ON paired.city_a = LEAST(r.city_code, o.city_code)
       AND paired.city_b = GREATEST(r.city_code, o.city_code)
     WHERE r.kind = 'request' AND r.status = 'open'
       AND (CAST(:city AS text) IS NULL OR :city IN (r.city_code, o.city_code))
       AND (CAST(:theme AS text) IS NULL OR r.theme = :theme)
       AND (CAST(:request AS bigint) IS NULL OR r.id = :request)
), ranked AS (
    SELECT pair.*,
           -cardinality(shared_themes) AS k1, -cardinality(shared_languages) AS k2,
           paired_before::int AS k3, -request_id AS k4, offer_id AS k5
      FROM pair
)
SELECT * FROM ranked
 WHERE CAST(:after AS boolean) IS NOT TRUE
    OR (k1, k2, k3, k4, k5) > (:c1, :c2, :c3, :c4, :c5)
 ORDER BY k1, k2, k3, k4, k5
 LIMIT :limit
"""


class ExchangeRepository(Repository[Exchange]):
    model = Exchange

    async def search(self, filters: ExchangeFilters, page: PageParams) -> Sequence[Exchange]:
        statement = select(Exchange)
        if filters.kind is not None:
            statement = statement.where(Exchange.kind == filters.kind)
        if filters.city is not None:
            statement = statement.where(Exchange.city_code == filters.city)
        if filters.status is not None:
            statement = statement.where(Exchange.status == filters.status)
        if filters.theme is not None:
            statement = statement.where(
                or_(
                    Exchange.theme == filters.theme,
                    Exchange.related_themes.contains([filters.theme]),
                )
            )
        if filters.language is not None:
            statement = statement.where(Exchange.languages.contains([filters.language]))
        return (await self.session.scalars(keyset(statement, page, Exchange.id))).all()

    async def for_update(self, exchange_ids: Sequence[int]) -> dict[int, Exchange]:
        """The exchanges with their rows locked, in id order (so two confirmations of
        crossing pairs cannot deadlock)."""
        found = await self.session.scalars(
            select(Exchange)
            .where(Exchange.id.in_(exchange_ids))
            .order_by(Exchange.id)
            .with_for_update()
            # Read what the lock protects, not what this session may have read before it.
            .execution_options(populate_existing=True)
        )
        return {exchange.id: exchange for exchange in found}

    async def proposals(
        self,
        *,
        city: str | None,
        theme: str | None,
        request: int | None,
        after: Sequence[int] | None,
        limit: int,
    ) -> list[ProposalRow]:
        """Ranked pairs of open requests and offers, ``limit`` of them after the key ``after``."""
        cursor: list[Any] = list(after) if after is not None else [0, 0, 0, 0, 0]
        rows = await self.session.execute(
            text(_PROPOSALS),
            {
                "city": city,
                "theme": theme,
                "request": request,
                "after": after is not None,
                "c1": cursor[0],
                "c2": cursor[1],
                "c3": cursor[2],
                "c4": cursor[3],
                "c5": cursor[4],
                "limit": limit,
            },
        )
        return [
            ProposalRow(
                request_id=row.request_id,
                offer_id=row.offer_id,
                shared_themes=list(row.shared_themes),
                shared_languages=list(row.shared_languages),
                paired_before=row.paired_before,
                key=(row.k1, row.k2, row.k3, row.k4, row.k5),
            )
            for row in rows
        ]

    async def matches_of(
        self, exchange_id: int, page: PageParams | None = None
    ) -> Sequence[ExchangeMatch]:
        """The matches the exchange is part of (as request or offer), by id; all without
        ``page``."""
        statement = select(ExchangeMatch).where(
            or_(ExchangeMatch.request_id == exchange_id, ExchangeMatch.offer_id == exchange_id)
        )
        if page is None:
            return (await self.session.scalars(statement.order_by(ExchangeMatch.id))).all()
        return (await self.session.scalars(keyset(statement, page, ExchangeMatch.id))).all()

    async def match_of_pair(self, request_id: int, offer_id: int) -> ExchangeMatch | None:
        return await self.session.scalar(
            select(ExchangeMatch).where(
                ExchangeMatch.request_id == request_id, ExchangeMatch.offer_id == offer_id
            )
        )

    async def by_ids(self, exchange_ids: Sequence[int]) -> dict[int, Exchange]:
        if not exchange_ids:
            return {}
        found = await self.session.scalars(select(Exchange).where(Exchange.id.in_(exchange_ids)))
        return {exchange.id: exchange for exchange in found}
