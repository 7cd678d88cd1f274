"""The dialogue's read model of published assessments, kept from profiles'
``assessment.published`` events (``service.py``). Applying is idempotent: a published
assessment is final, so a redelivered event changes nothing."""

from __future__ import annotations

from services.dialogue_api.assessments.service import apply_assessment_published
from shared.contracts.events import AssessmentPublished, OutboxEvent
from shared.jobs import JobContext, Tasks


async def on_assessment_published(worker: JobContext, event: OutboxEvent) -> None:
    payload = AssessmentPublished.model_validate(event.data)
    async with worker.database.sessionmaker() as session, session.begin():
        await apply_assessment_published(session, payload)


TASKS = Tasks(handlers={AssessmentPublished.event_type: [on_assessment_published]})
