from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, tuple_

from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
from services.dialogue_api.events.models import Event
from services.dialogue_api.recommendations.models import Evidence, Recommendation
from shared.repository import Repository


class AssessmentRefRepository(Repository[AssessmentRef]):
    model = AssessmentRef

    async def replace_indicators(
        self, assessment_id: int, indicators: Sequence[AssessmentIndicatorRef]
    ) -> None:
        """The assessment's indicators become ``indicators``."""
        await self.session.execute(
            delete(AssessmentIndicatorRef).where(
                AssessmentIndicatorRef.assessment_id == assessment_id
            )
        )
        self.session.add_all(indicators)
        await self.session.flush()

    async def latest_of_city(self, city_code: str) -> Sequence[AssessmentRef]:
        """The city's latest published assessment of each framework (latest reference date,
        then latest publication), by framework code."""
        ranked = (
            select(
                AssessmentRef.assessment_id,
                func.row_number()
                .over(
                    partition_by=AssessmentRef.framework_code,
                    order_by=(
                        AssessmentRef.reference_date.desc(),
                        AssessmentRef.published_at.desc(),
                        AssessmentRef.assessment_id.desc(),
                    ),
                )
                .label("rank"),
            )
            .where(AssessmentRef.city_code == city_code)
            .subquery()
        )
        statement = (
            select(AssessmentRef)
            .join(ranked, ranked.c.assessment_id == AssessmentRef.assessment_id)
            .where(ranked.c.rank == 1)
            .order_by(AssessmentRef.framework_code)
        )
        return (await self.session.scalars(statement)).all()

    async def indicators_below(
        self, assessment_ids: Sequence[int], threshold: float
    ) -> Sequence[AssessmentIndicatorRef]:
        """The indicators of the assessments scoring below ``threshold`` (unscored ones are
        not gaps), lowest first, then in the framework's order."""
        if not assessment_ids:
            return []
        statement = (
            select(AssessmentIndicatorRef)
            .where(
                AssessmentIndicatorRef.assessment_id.in_(assessment_ids),
                AssessmentIndicatorRef.score < threshold,
            )
            .order_by(
                AssessmentIndicatorRef.assessment_id,
                AssessmentIndicatorRef.score,
                AssessmentIndicatorRef.position,
            )
        )
        return (await self.session.scalars(statement)).all()

    async def cited(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], tuple[AssessmentRef, AssessmentIndicatorRef]]:
        """For each (city, framework code, indicator code): the latest published assessment
        of that city and framework having that indicator, with the indicator's row."""
        wanted = set(keys)
        if not wanted:
            return {}
        statement = (
            select(AssessmentRef, AssessmentIndicatorRef)
            .join(
                AssessmentIndicatorRef,
                AssessmentIndicatorRef.assessment_id == AssessmentRef.assessment_id,
            )
            .where(
                tuple_(
                    AssessmentRef.city_code,
                    AssessmentRef.framework_code,
                    AssessmentIndicatorRef.code,
                ).in_(list(wanted))
            )
            .order_by(
                AssessmentRef.reference_date,
                AssessmentRef.published_at,
                AssessmentRef.assessment_id,
            )
        )
        found: dict[tuple[str, str, str], tuple[AssessmentRef, AssessmentIndicatorRef]] = {}
        for assessment, indicator in await self.session.execute(statement):
            # Ordered oldest first: the latest one stays.
            found[assessment.city_code, assessment.framework_code, indicator.code] = (
                assessment,
                indicator,
            )
        return found

    async def citing_recommendations(
        self, city_code: str, framework_codes: Iterable[str], *, public_only: bool
    ) -> Sequence[tuple[Evidence, Recommendation]]:
        """The evidence links citing an assessment indicator of the city in one of the
        frameworks, with their recommendations (of public events only when asked)."""
        frameworks = set(framework_codes)
        if not frameworks:
            return []
        statement = (
            select(Evidence, Recommendation)
            .join(Recommendation, Recommendation.id == Evidence.recommendation_id)
            .where(Evidence.city_code == city_code, Evidence.framework_code.in_(frameworks))
            .order_by(Recommendation.id, Evidence.id)
        )
        if public_only:
            statement = statement.join(Event, Event.id == Recommendation.event_id).where(
                Event.public.is_(True)
            )
        return [(link, rec) for link, rec in await self.session.execute(statement)]
