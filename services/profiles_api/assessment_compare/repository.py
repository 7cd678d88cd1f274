"""The reads of a comparison: published assessments, their scores and answers, city names.

Reads only; every table is another domain's (assessments, frameworks, cities), read here as
those domains' own repositories read them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on

from services.profiles_api.assessments.models import Answer, Assessment, Score
from services.profiles_api.cities.models import City
from services.profiles_api.frameworks.models import Framework
from shared.repository import Repository

#: A compared assessment's key: (city, assessment id).
AssessmentKey = tuple[str, int]


class ComparisonRepository(Repository[Assessment]):
    model = Assessment

    async def versions(self, framework: str) -> Sequence[Framework]:
        """Every published version of the framework ``framework``."""
        statement = select(Framework).where(Framework.code == framework).order_by(Framework.id)
        return (await self.session.scalars(statement)).all()

    async def cities(self, codes: Sequence[str]) -> dict[str, City]:
        statement = select(City).where(City.code.in_(codes))
        return {city.code: city for city in await self.session.scalars(statement)}

    async def published(
        self, framework: str, cities: Sequence[str]
    ) -> Sequence[tuple[Assessment, Framework]]:
        """The cities' published assessments of any version of ``framework``, each city's
        latest first (by reference date, then the latest published)."""
        statement = (
            select(Assessment, Framework)
            .join(Framework, Framework.id == Assessment.framework_id)
            .where(
                Framework.code == framework,
                Assessment.city_code.in_(cities),
                Assessment.status == "published",
            )
            .order_by(
                Assessment.city_code,
                Assessment.reference_date.desc(),
                Assessment.published_at.desc(),
                Assessment.id.desc(),
            )
        )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def latest_published_of_version(self, framework_id: int) -> Sequence[Assessment]:
        """Each city's latest published assessment of one framework version."""
        statement = (
            select(Assessment)
            .where(Assessment.framework_id == framework_id, Assessment.status == "published")
            .order_by(
                Assessment.city_code,
                Assessment.reference_date.desc(),
                Assessment.published_at.desc(),
                Assessment.id.desc(),
            )
            .ext(distinct_on(Assessment.city_code))
        )
        return (await self.session.scalars(statement)).all()

    async def scores(self, keys: Sequence[AssessmentKey]) -> dict[AssessmentKey, list[Score]]:
        """The overall and area scores of each assessment."""
        found: dict[AssessmentKey, list[Score]] = {key: [] for key in keys}
        if not keys:
            return found
        statement = select(Score).where(
            tuple_(Score.city_code, Score.assessment_id).in_(keys),
            Score.level.in_(("overall", "area")),
        )
        for score in await self.session.scalars(statement):
            found[(score.city_code, score.assessment_id)].append(score)
        return found

    async def answers(self, keys: Sequence[AssessmentKey]) -> dict[AssessmentKey, list[Answer]]:
        found: dict[AssessmentKey, list[Answer]] = {key: [] for key in keys}
        if not keys:
            return found
        statement = select(Answer).where(tuple_(Answer.city_code, Answer.assessment_id).in_(keys))
        for answer in await self.session.scalars(statement):
            found[(answer.city_code, answer.assessment_id)].append(answer)
        return found
