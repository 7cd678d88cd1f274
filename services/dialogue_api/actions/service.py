"""Actions: what a city commits to do to follow up a recommendation, who owns it, by when,
and the dated progress updates reported on it.

Actions are seen by whoever sees the recommendation's event and changed by admins and the
editors of the action's city. Whether an action is overdue is derived in SQL against today in
the city's timezone, never stored. Creation, changes of status and of due date are announced
as ``action.changed`` (the worker's reminders and notifications follow them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_unpublished
from services.dialogue_api.actions.models import Action, ProgressUpdate
from services.dialogue_api.actions.repository import ActionFilters, ActionRepository, ActionRow
from services.dialogue_api.actions.schemas import (
    INITIAL_STATUSES,
    TRANSITIONS,
    ActionCreate,
    ActionStatus,
    ActionUpdate,
    ProgressUpdateCreate,
)
from services.dialogue_api.cities.service import ensure_known_cities
from services.dialogue_api.db import events as outbox
from services.dialogue_api.people.schemas import PersonSummary
from services.dialogue_api.people.service import visible_person_summaries
from services.dialogue_api.recommendations.service import get_recommendation
from shared.auth import Principal, ensure_city_editor
from shared.columns import apply_changes
from shared.concurrency import check_if_match
from shared.contracts.events import ActionChanged
from shared.errors import Conflict, NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


@dataclass(frozen=True)
class SeenAction:
    """An action as one caller sees it: its derived fields and its owner if they may see them."""

    action: Action
    overdue: bool
    latest_progress: int | None
    owner: PersonSummary | None


async def _seen(
    session: AsyncSession, principal: Principal | None, rows: Sequence[ActionRow]
) -> list[SeenAction]:
    """The rows with the owners the caller may see, in one query whatever their number."""
    owner_ids = sorted({row.action.owner_id for row in rows if row.action.owner_id is not None})
    owners = await visible_person_summaries(session, principal, owner_ids)
    return [
        SeenAction(
            row.action,
            row.overdue,
            row.latest_progress,
            owners.get(row.action.owner_id) if row.action.owner_id is not None else None,
        )
        for row in rows
    ]


def _missing(action_id: int) -> NotFound:
    return NotFound(f"There is no action {action_id}.", id=action_id)


async def get_action(
    session: AsyncSession, principal: Principal | None, action_id: int
) -> SeenAction:
    """The action, if the caller may see its recommendation's event (404 otherwise)."""
    row = await ActionRepository.from_session(session).find(
        action_id, public_only=not sees_unpublished(principal)
    )
    if row is None:
        raise _missing(action_id)
    return (await _seen(session, principal, [row]))[0]


async def list_actions(
    session: AsyncSession,
    principal: Principal | None,
    page: PageParams,
    *,
    city: str | None = None,
    owner_id: int | None = None,
    statuses: Sequence[str] = (),
    recommendation_id: int | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
    overdue: bool | None = None,
) -> list[SeenAction]:
    """A page of the actions the caller may see, by due date then id."""
    if owner_id is not None and not await visible_person_summaries(session, principal, [owner_id]):
        # Filtering by a person the caller may not see would tell what that person owns.
        return []
    filters = ActionFilters(
        city=city,
        owner_id=owner_id,
        statuses=statuses,
        recommendation_id=recommendation_id,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        public_only=not sees_unpublished(principal),
    )
    rows = await ActionRepository.from_session(session).search(filters, page)
    return await _seen(session, principal, rows)


async def _owner_errors(
    session: AsyncSession, principal: Principal, owner_id: int | None
) -> list[dict[str, Any]]:
    """A field error naming ``owner`` unless it is a person the caller may see."""
    if owner_id is None or await visible_person_summaries(session, principal, [owner_id]):
        return []
    return [field_error("owner", f"there is no person {owner_id}", value=owner_id)]


def _moved(current: ActionStatus, status: ActionStatus | None) -> ActionStatus | None:
    """The new status if ``status`` moves the action (409 naming ``status`` if it may not)."""
    if status is None or status == current:
        return None
    if status not in TRANSITIONS[current]:
        raise Conflict(
            f"An action that is {current} cannot become {status}.",
            errors=[field_error("status", f"cannot go from {current} to {status}")],
        )
    return status


async def _announce(
    session: AsyncSession,
    principal: Principal,
    action: Action,
    *,
    previous_status: str | None = None,
) -> None:
    await outbox.add(
        session,
        ActionChanged(
            action_id=action.id,
            recommendation_id=action.recommendation_id,
            city=action.city_code,
            status=action.status,
            previous_status=previous_status,
            due_on=action.due_on,
        ),
        actor=principal.subject,
    )


async def _for_change(session: AsyncSession, principal: Principal, action_id: int) -> Action:
    """The action, locked, once the caller is known to be allowed to change it."""
    action = await ActionRepository.from_session(session).for_update(action_id)
    if action is None:
        raise _missing(action_id)
    ensure_city_editor(principal, action.city_code)
    return action


async def create_action(
    session: AsyncSession, principal: Principal, recommendation_id: int, payload: ActionCreate
) -> SeenAction:
    """Record a city's commitment on a recommendation, as an admin or an editor of the city."""
    recommendation = await get_recommendation(session, principal, recommendation_id)
    ensure_city_editor(principal, payload.city)
    await ensure_known_cities(session, {"city": payload.city})
    errors = []
    if recommendation.target_cities and payload.city not in recommendation.target_cities:
        targets = ", ".join(recommendation.target_cities)
        errors.append(field_error("city", f"must be one of the recommendation's cities: {targets}"))
    errors += await _owner_errors(session, principal, payload.owner)
    if payload.status not in INITIAL_STATUSES:
        errors.append(field_error("status", "a new action is planned, in_progress or done"))
    if errors:
        raise ValidationFailed("The action cannot be recorded as given.", errors=errors)

    repository = ActionRepository.from_session(session)
    action = Action(
        recommendation_id=recommendation.id,
        city_code=payload.city,
        owner_id=payload.owner,
        title=payload.title,
        due_on=payload.due_on,
        status=payload.status.value,
    )
    await repository.add(action)
    await session.refresh(action)
    await _announce(session, principal, action)
    return await get_action(session, principal, action.id)


async def update_action(
    session: AsyncSession,
    principal: Principal,
    action_id: int,
    payload: ActionUpdate,
    *,
    if_match: str | None,
) -> SeenAction:
    """Change an action; a change of status or of due date is announced."""
    action = await _for_change(session, principal, action_id)
    check_if_match(if_match, action.version, resource="action")
    changes = payload.changes()
    # An owner the caller may not see may stay; only a new one is checked.
    owner = changes.get("owner")
    if owner != action.owner_id and (errors := await _owner_errors(session, principal, owner)):
        raise ValidationFailed("The owner is not a person you may choose.", errors=errors)
    previous = ActionStatus(action.status)
    status = _moved(previous, changes.get("status"))
    previous_due = action.due_on
    apply_changes(action, changes, renamed={"owner": "owner_id"})
    repository = ActionRepository.from_session(session)
    if await repository.save_changes(action, resource="action") and (
        status is not None or action.due_on != previous_due
    ):
        await _announce(
            session,
            principal,
            action,
            previous_status=previous.value if status is not None else None,
        )
    return await get_action(session, principal, action.id)


async def delete_action(
    session: AsyncSession, principal: Principal, action_id: int, *, if_match: str | None
) -> None:
    """Remove an action recorded by mistake, with its progress updates."""
    action = await _for_change(session, principal, action_id)
    check_if_match(if_match, action.version, resource="action", required=False)
    await ActionRepository.from_session(session).delete(action)


async def list_updates(
    session: AsyncSession, principal: Principal | None, action_id: int, page: PageParams
) -> Sequence[ProgressUpdate]:
    """A page of the action's progress updates, oldest first."""
    await get_action(session, principal, action_id)
    return await ActionRepository.from_session(session).updates(action_id, page)


async def report_progress(
    session: AsyncSession, principal: Principal, action_id: int, payload: ProgressUpdateCreate
) -> ProgressUpdate:
    """Report progress on an action; a status given moves the action under the usual rules,
    and the update keeps the step (old and new status)."""
    action = await _for_change(session, principal, action_id)
    previous = ActionStatus(action.status)
    status = _moved(previous, payload.status)
    repository = ActionRepository.from_session(session)
    if status is not None:
        action.status = status
        await repository.save_changes(action, resource="action")
    update = await repository.add_update(
        ProgressUpdate(
            action_id=action.id,
            reported_by=principal.subject,
            text=payload.text,
            progress=payload.progress,
            old_status=previous.value if status is not None else None,
            status=status.value if status is not None else None,
        )
    )
    if status is not None:
        await _announce(session, principal, action, previous_status=previous.value)
    return update
