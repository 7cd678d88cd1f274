from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from services.profiles_api.frameworks.document import FrameworkDocument
from services.profiles_api.frameworks.models import Framework, FrameworkItem, FrameworkOption
from shared.repository import Repository


class FrameworkRepository(Repository[Framework]):
    model = Framework

    async def all(self) -> Sequence[Framework]:
        statement = select(Framework).order_by(Framework.code, Framework.id)
        return (await self.session.scalars(statement)).all()

    async def find(self, code: str, version: str) -> Framework | None:
        statement = select(Framework).where(Framework.code == code, Framework.version == version)
        found: Framework | None = await self.session.scalar(statement)
        return found

    async def indicator_codes(self) -> set[tuple[str, str]]:
        """Every (framework code, indicator code) of any published version."""
        statement = (
            select(Framework.code, FrameworkItem.code)
            .join(FrameworkItem, FrameworkItem.framework_id == Framework.id)
            .where(FrameworkItem.level == "indicator")
            .distinct()
        )
        return {
            (framework, indicator) for framework, indicator in await self.session.execute(statement)
        }

    async def add_items(self, framework_id: int, document: FrameworkDocument) -> None:
        """The version's tree as rows: areas, indicators and questions, then options."""
        items: list[FrameworkItem] = []
        options: list[FrameworkOption] = []
        for a, area in enumerate(document.areas):
            items.append(FrameworkItem.of(framework_id, "area", area, None, a))
            for i, indicator in enumerate(area.indicators):
                items.append(FrameworkItem.of(framework_id, "indicator", indicator, area.code, i))
                for q, question in enumerate(indicator.questions):
                    items.append(
                        FrameworkItem.of(framework_id, "question", question, indicator.code, q)
                    )
                    options.extend(
                        FrameworkOption(
                            framework_id=framework_id,
                            level="question",
                            question_code=question.code,
                            code=option.code,
                            position=o,
                            value=option.value,
                            titles=option.titles,
                        )
                        for o, option in enumerate(question.options)
                    )
        self.session.add_all(items)
        await self.session.flush()
        self.session.add_all(options)
        await self.session.flush()
