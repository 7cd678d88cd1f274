"""Outcomes: the minutes, reports and recordings an event left behind, as links.

They are seen by whoever sees the event, and changed by whoever may change the event.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.events.service import ensure_event_editor, get_event
from services.dialogue_api.outcomes.models import Outcome
from services.dialogue_api.outcomes.repository import OutcomeRepository
from services.dialogue_api.outcomes.schemas import OutcomeCreate, OutcomeKind, OutcomeUpdate
from shared.auth import Principal
from shared.columns import apply_changes, column_values
from shared.concurrency import check_if_match
from shared.errors import NotFound
from shared.pagination import PageParams

#: API field name → column, where they differ.
_RENAMED = {"document_language": "language"}


async def list_outcomes(
    session: AsyncSession,
    principal: Principal | None,
    event_id: int,
    page: PageParams,
    *,
    kind: OutcomeKind | None = None,
) -> Sequence[Outcome]:
    """A page of the outcomes of an event the caller may see, by id."""
    await get_event(session, principal, event_id)
    return await OutcomeRepository.from_session(session).for_event(
        event_id, page, kind=kind.value if kind else None
    )


async def _of_event(session: AsyncSession, event_id: int, outcome_id: int) -> Outcome:
    outcome = await OutcomeRepository.from_session(session).of_event(event_id, outcome_id)
    if outcome is None:
        raise NotFound(f"Event {event_id} has no outcome {outcome_id}.", id=outcome_id)
    return outcome


async def get_outcome(
    session: AsyncSession, principal: Principal | None, event_id: int, outcome_id: int
) -> Outcome:
    """An outcome of an event the caller may see; 404 if it is another event's."""
    await get_event(session, principal, event_id)
    return await _of_event(session, event_id, outcome_id)


async def create_outcome(
    session: AsyncSession, principal: Principal, event_id: int, payload: OutcomeCreate
) -> Outcome:
    """Link a document to an event the caller may change."""
    event = await get_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    values = column_values(payload.model_dump(), renamed=_RENAMED)
    outcome = Outcome(event_id=event_id, **values)
    await OutcomeRepository.from_session(session).add(outcome)
    await session.refresh(outcome)
    return outcome


async def update_outcome(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    outcome_id: int,
    payload: OutcomeUpdate,
    *,
    if_match: str | None,
) -> Outcome:
    """Change an outcome of an event the caller may change."""
    event = await get_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    outcome = await _of_event(session, event_id, outcome_id)
    check_if_match(if_match, outcome.version, resource="outcome")
    apply_changes(outcome, payload.changes(), renamed=_RENAMED)
    await OutcomeRepository.from_session(session).save_changes(outcome, resource="outcome")
    return outcome


async def delete_outcome(
    session: AsyncSession,
    principal: Principal,
    event_id: int,
    outcome_id: int,
    *,
    if_match: str | None,
) -> None:
    """Remove an outcome of an event the caller may change."""
    event = await get_event(session, principal, event_id)
    ensure_event_editor(principal, event.host_city_code)
    outcome = await _of_event(session, event_id, outcome_id)
    check_if_match(if_match, outcome.version, resource="outcome", required=False)
    await OutcomeRepository.from_session(session).delete(outcome)
