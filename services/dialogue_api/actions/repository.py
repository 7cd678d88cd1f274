from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, and_, cast, func, not_, select

from services.dialogue_api.actions.models import Action, ProgressUpdate
from services.dialogue_api.actions.schemas import CLOSED_STATUSES
from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.events.models import Event
from services.dialogue_api.recommendations.models import Recommendation
from shared.pagination import PageParams, keyset
from shared.repository import Repository


@dataclass(frozen=True)
class ActionFilters:
    city: str | None = None
    owner_id: int | None = None
    statuses: Sequence[str] = ()
    recommendation_id: int | None = None
    due_before: date | None = None
    due_after: date | None = None
    overdue: bool | None = None
    public_only: bool = True


@dataclass(frozen=True)
class ActionRow:
    """An action with what is derived from it in the same query."""

    action: Action
    overdue: bool
    latest_progress: int | None


def _overdue() -> ColumnElement[bool]:
    """Due before today in the action city's timezone, and still open.

    ``now() AT TIME ZONE tz`` is the wall-clock time in that city; its date is the city's
    today, whatever the server's timezone.
    """
    today = cast(func.timezone(CityRef.timezone, func.now()), Date)
    return and_(Action.due_on < today, Action.status.not_in(CLOSED_STATUSES))


def _latest_progress() -> Any:
    """The progress of the action's newest update that gave one (over its index)."""
    return (
        select(ProgressUpdate.progress)
        .where(ProgressUpdate.action_id == Action.id, ProgressUpdate.progress.is_not(None))
        .order_by(ProgressUpdate.id.desc())
        .limit(1)
        .correlate(Action)
        .scalar_subquery()
    )


class ActionRepository(Repository[Action]):
    model = Action

    def _rows(self, *, public_only: bool) -> Select[Action, bool, int | None]:
        statement = select(
            Action,
            _overdue().label("overdue"),
            _latest_progress().label("latest_progress"),
        ).join(CityRef, CityRef.code == Action.city_code)
        if public_only:
            statement = (
                statement.join(Recommendation, Recommendation.id == Action.recommendation_id)
                .join(Event, Event.id == Recommendation.event_id)
                .where(Event.public.is_(True))
            )
        return statement

    async def search(self, filters: ActionFilters, page: PageParams) -> list[ActionRow]:
        """A page of actions in order of due date, then id."""
        statement = self._rows(public_only=filters.public_only)
        if filters.city is not None:
            statement = statement.where(Action.city_code == filters.city)
        if filters.owner_id is not None:
            statement = statement.where(Action.owner_id == filters.owner_id)
        if filters.statuses:
            statement = statement.where(Action.status.in_(filters.statuses))
        if filters.recommendation_id is not None:
            statement = statement.where(Action.recommendation_id == filters.recommendation_id)
        if filters.due_before is not None:
            statement = statement.where(Action.due_on < filters.due_before)
        if filters.due_after is not None:
            statement = statement.where(Action.due_on > filters.due_after)
        if filters.overdue is not None:
            overdue = _overdue()
            statement = statement.where(overdue if filters.overdue else not_(overdue))
        rows = await self.session.execute(keyset(statement, page, Action.due_on, Action.id))
        return [ActionRow(action, overdue, progress) for action, overdue, progress in rows]

    async def find(self, action_id: int, *, public_only: bool) -> ActionRow | None:
        """The action with its derived fields; ``None`` if missing or not public enough."""
        row = (
            await self.session.execute(
                self._rows(public_only=public_only).where(Action.id == action_id)
            )
        ).first()
        return None if row is None else ActionRow(row[0], row[1], row[2])

    async def for_update(self, action_id: int) -> Action | None:
        """The action with its row locked until the transaction ends: changes of its status
        (by a change or a progress update) run one at a time."""
        return await self.session.scalar(
            select(Action).where(Action.id == action_id).with_for_update()
        )

    async def updates(self, action_id: int, page: PageParams) -> Sequence[ProgressUpdate]:
        """A page of the action's progress updates, oldest first."""
        statement = select(ProgressUpdate).where(ProgressUpdate.action_id == action_id)
        return (await self.session.scalars(keyset(statement, page, ProgressUpdate.id))).all()

    async def add_update(self, update: ProgressUpdate) -> ProgressUpdate:
        """Store a progress update, with the time the database gave it."""
        self.session.add(update)
        await self.flush()
        await self.session.refresh(update)
        return update
