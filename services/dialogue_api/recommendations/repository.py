from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from services.dialogue_api.actions.models import Action
from services.dialogue_api.events.models import Event
from services.dialogue_api.recommendations.models import (
    Evidence,
    Recommendation,
    RecommendationStatusChange,
)
from shared.pagination import PageParams, keyset
from shared.repository import Repository


@dataclass(frozen=True)
class RecommendationFilters:
    event_id: int | None = None
    theme: str | None = None
    city: str | None = None
    statuses: Sequence[str] = ()
    governance_level: str | None = None
    indicator: str | None = None
    evidence_city: str | None = None
    public_only: bool = True


class RecommendationRepository(Repository[Recommendation]):
    model = Recommendation

    async def search(
        self, filters: RecommendationFilters, page: PageParams
    ) -> Sequence[Recommendation]:
        """A page of recommendations by id."""
        statement = select(Recommendation)
        if filters.public_only:
            statement = statement.join(Event, Event.id == Recommendation.event_id).where(
                Event.public.is_(True)
            )
        if filters.event_id is not None:
            statement = statement.where(Recommendation.event_id == filters.event_id)
        if filters.theme is not None:
            statement = statement.where(Recommendation.theme == filters.theme)
        if filters.city is not None:
            statement = statement.where(Recommendation.target_cities.contains([filters.city]))
        if filters.statuses:
            statement = statement.where(Recommendation.status.in_(filters.statuses))
        if filters.governance_level is not None:
            statement = statement.where(Recommendation.governance_level == filters.governance_level)
        if filters.indicator is not None or filters.evidence_city is not None:
            # Both given: one evidence link must match both (that city's indicator).
            linked = select(Evidence.id).where(Evidence.recommendation_id == Recommendation.id)
            if filters.indicator is not None:
                linked = linked.where(
                    Evidence.indicator_code == filters.indicator, Evidence.framework_code == ""
                )
            if filters.evidence_city is not None:
                linked = linked.where(Evidence.city_code == filters.evidence_city)
            statement = statement.where(linked.exists())
        return (await self.session.scalars(keyset(statement, page, Recommendation.id))).all()

    async def with_event(
        self, recommendation_id: int, *, lock: bool = False
    ) -> tuple[Recommendation, Event] | None:
        """The recommendation and its event; with ``lock``, the recommendation's row is locked
        until the transaction ends, so changes of it (evidence included) run one at a time."""
        statement = (
            select(Recommendation, Event)
            .join(Event, Event.id == Recommendation.event_id)
            .where(Recommendation.id == recommendation_id)
        )
        if lock:
            statement = statement.with_for_update(of=Recommendation)
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def evidence_of(self, recommendation_ids: Sequence[int]) -> dict[int, list[Evidence]]:
        """The evidence links of each recommendation, in one query, by id."""
        found: dict[int, list[Evidence]] = {rid: [] for rid in recommendation_ids}
        if not recommendation_ids:
            return found
        links = await self.session.scalars(
            select(Evidence)
            .where(Evidence.recommendation_id.in_(recommendation_ids))
            .order_by(Evidence.recommendation_id, Evidence.id)
        )
        for link in links:
            found[link.recommendation_id].append(link)
        return found

    async def evidence(self, recommendation_id: int, evidence_id: int) -> Evidence | None:
        """The evidence link if it is the recommendation's."""
        return await self.session.scalar(
            select(Evidence).where(
                Evidence.id == evidence_id, Evidence.recommendation_id == recommendation_id
            )
        )

    async def has_evidence(
        self,
        recommendation_id: int,
        *,
        city_code: str,
        framework_code: str = "",
        indicator_code: str,
        role: str,
    ) -> bool:
        return bool(
            await self.session.scalar(
                select(
                    select(Evidence.id)
                    .where(
                        Evidence.recommendation_id == recommendation_id,
                        Evidence.city_code == city_code,
                        Evidence.framework_code == framework_code,
                        Evidence.indicator_code == indicator_code,
                        Evidence.role == role,
                    )
                    .exists()
                )
            )
        )

    async def history(
        self, recommendation_id: int, page: PageParams
    ) -> Sequence[RecommendationStatusChange]:
        """A page of the recommendation's status changes, oldest first."""
        statement = select(RecommendationStatusChange).where(
            RecommendationStatusChange.recommendation_id == recommendation_id
        )
        return (
            await self.session.scalars(keyset(statement, page, RecommendationStatusChange.id))
        ).all()

    async def action_ids(self, recommendation_id: int) -> list[int]:
        """The actions that follow the recommendation up."""
        return list(
            await self.session.scalars(
                select(Action.id)
                .where(Action.recommendation_id == recommendation_id)
                .order_by(Action.id)
            )
        )
