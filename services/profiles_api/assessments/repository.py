from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, select
from sqlalchemy.orm import aliased

from services.profiles_api.assessments.models import Answer, Assessment, AssessmentChange, Score
from services.profiles_api.frameworks.models import Framework, FrameworkItem
from shared.pagination import PageParams, keyset
from shared.repository import Repository


class AssessmentRepository(Repository[Assessment]):
    model = Assessment

    async def for_city(
        self, city: str, *, published_only: bool
    ) -> Sequence[tuple[Assessment, Framework]]:
        statement = (
            select(Assessment, Framework)
            .join(Framework, Framework.id == Assessment.framework_id)
            .where(Assessment.city_code == city)
            .order_by(Framework.code, Assessment.reference_date, Assessment.id)
        )
        if published_only:
            statement = statement.where(Assessment.status == "published")
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def published(self) -> Sequence[tuple[Assessment, Framework]]:
        """Every published assessment of every city, oldest first."""
        statement = (
            select(Assessment, Framework)
            .join(Framework, Framework.id == Assessment.framework_id)
            .where(Assessment.status == "published")
            .order_by(Assessment.published_at, Assessment.id)
        )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def find(self, city: str, assessment_id: int) -> tuple[Assessment, Framework] | None:
        statement = (
            select(Assessment, Framework)
            .join(Framework, Framework.id == Assessment.framework_id)
            .where(Assessment.city_code == city, Assessment.id == assessment_id)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1])

    async def answers(self, city: str, assessment_id: int) -> Sequence[Answer]:
        statement = (
            select(Answer)
            .where(Answer.city_code == city, Answer.assessment_id == assessment_id)
            .order_by(Answer.question_code)
        )
        return (await self.session.scalars(statement)).all()

    async def answer(self, city: str, assessment_id: int, question: str) -> Answer | None:
        found: Answer | None = await self.session.get(Answer, (assessment_id, city, question))
        return found

    async def scores(self, city: str, assessment_id: int, framework_id: int) -> list[Score]:
        """The overall score, then each area followed by its indicators, in the
        framework's order."""
        area = aliased(FrameworkItem)
        item = aliased(FrameworkItem)
        area_position = case((Score.level == "area", item.position), else_=area.position)
        statement = (
            select(Score)
            .outerjoin(
                item,
                and_(
                    item.framework_id == framework_id,
                    item.level == Score.level,
                    item.code == Score.code,
                ),
            )
            .outerjoin(
                area,
                and_(
                    area.framework_id == framework_id,
                    area.level == "area",
                    area.code == Score.parent_code,
                    Score.level == "indicator",
                ),
            )
            .where(Score.city_code == city, Score.assessment_id == assessment_id)
            .order_by(
                (Score.level != "overall"),
                area_position,
                (Score.level != "area"),
                item.position,
            )
        )
        return list((await self.session.scalars(statement)).all())

    async def indicators_below(
        self, city: str, assessment_id: int, framework_id: int, threshold: float
    ) -> list[tuple[Score, FrameworkItem]]:
        """The indicators scoring below ``threshold``, lowest first, with their items."""
        statement = (
            select(Score, FrameworkItem)
            .join(
                FrameworkItem,
                and_(
                    FrameworkItem.framework_id == framework_id,
                    FrameworkItem.level == "indicator",
                    FrameworkItem.code == Score.code,
                ),
            )
            .where(
                Score.city_code == city,
                Score.assessment_id == assessment_id,
                Score.level == "indicator",
                Score.score < threshold,
            )
            .order_by(Score.score, Score.code)
        )
        return [(row[0], row[1]) for row in await self.session.execute(statement)]

    async def item_titles(self, framework_id: int) -> dict[tuple[str, str], dict[str, str]]:
        """The titles of a framework version's areas and indicators, by (level, code)."""
        statement = select(FrameworkItem.level, FrameworkItem.code, FrameworkItem.titles).where(
            FrameworkItem.framework_id == framework_id, FrameworkItem.level != "question"
        )
        rows = await self.session.execute(statement)
        return {(level, code): titles for level, code, titles in rows}

    async def history(
        self, city: str, assessment_id: int, page: PageParams
    ) -> Sequence[AssessmentChange]:
        statement = select(AssessmentChange).where(
            AssessmentChange.city_code == city, AssessmentChange.assessment_id == assessment_id
        )
        statement = keyset(statement, page, AssessmentChange.id)
        return (await self.session.scalars(statement)).all()
