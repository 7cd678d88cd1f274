from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from services.dialogue_api.people.schemas import PersonSummary
from shared.contracts.cities import CityCode
from shared.i18n import LangMap, LangMapEn, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.dialogue_api.actions.models import ProgressUpdate
    from services.dialogue_api.actions.service import SeenAction


class ActionStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


#: Where each status may go next: work starts, ends or is dropped; a done action may be
#: reopened and a cancelled one planned again.
TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.planned: frozenset(
        {ActionStatus.in_progress, ActionStatus.done, ActionStatus.cancelled}
    ),
    ActionStatus.in_progress: frozenset(
        {ActionStatus.done, ActionStatus.cancelled, ActionStatus.planned}
    ),
    ActionStatus.done: frozenset({ActionStatus.in_progress}),
    ActionStatus.cancelled: frozenset({ActionStatus.planned}),
}

#: Statuses an action may be created in: a cancelled commitment is not recorded.
INITIAL_STATUSES = frozenset({ActionStatus.planned, ActionStatus.in_progress, ActionStatus.done})

#: Statuses in which an action is never overdue.
CLOSED_STATUSES = (ActionStatus.done.value, ActionStatus.cancelled.value)

Title = Field(
    description="What the city commits to do, by language (English required).",
    examples=[{"en": "Open a one-stop shop for newcomers", "pt": "Abrir um balcão único"}],
)


class ActionCreate(InputModel):
    city: CityCode = Field(
        description="The city that commits; one of the recommendation's target cities when "
        "it names any. It cannot be changed afterwards."
    )
    owner: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="The person responsible, whom the caller must be able to see.",
        examples=[12],
    )
    title: TitleMapEn = Title
    due_on: date = Field(
        description="The day it is due, in the city's calendar.", examples=["2027-06-30"]
    )
    status: ActionStatus = Field(
        default=ActionStatus.planned,
        description="`planned`, `in_progress` or `done` (to record earlier work).",
    )


class ActionUpdate(PatchModel):
    """Fields to change; omitted fields stay. The city cannot change. Status moves planned →
    in_progress → done, or to cancelled; done may be reopened (in_progress), cancelled planned
    again."""

    nullable = frozenset({"owner"})

    title: TitleMapEn | None = None
    owner: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="A person id; null for nobody."
    )
    due_on: date | None = None
    status: ActionStatus | None = None


class ActionRead(BaseModel):
    id: int
    recommendation: int = Field(description="The recommendation the action follows up.")
    city: str
    owner: PersonSummary | None = Field(
        description="The person responsible; null when there is none or the caller may not "
        "see them."
    )
    title: str
    language: str = Field(description="The language of `title`.")
    titles: LangMap
    due_on: date
    status: ActionStatus
    overdue: bool = Field(
        description="Due before today in the city's timezone and neither done nor cancelled."
    )
    latest_progress: int | None = Field(
        description="The progress (0-100) of the newest update that gave one."
    )
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, seen: SeenAction, languages: Languages) -> Self:
        """The action in the caller's language, with what is derived from it."""
        action = seen.action
        title, language = languages.pick(action.title)
        return cls(
            id=action.id,
            recommendation=action.recommendation_id,
            city=action.city_code,
            owner=seen.owner,
            title=title or "",
            language=language or "en",
            titles=action.title,
            due_on=action.due_on,
            status=ActionStatus(action.status),
            overdue=seen.overdue,
            latest_progress=seen.latest_progress,
            version=action.version,
            updated_at=action.updated_at,
        )


class ProgressUpdateCreate(InputModel):
    text: LangMapEn = Field(
        description="What happened, by language (English required).",
        examples=[{"en": "Premises found; staff training starts in May."}],
    )
    progress: int | None = Field(
        default=None, ge=0, le=100, description="How far along, in percent.", examples=[40]
    )
    status: ActionStatus | None = Field(
        default=None,
        description="The action's new status, when the update changes it (same rules as "
        "changing the action).",
    )


class ProgressUpdateRead(BaseModel):
    id: int
    action: int
    reported_at: datetime
    reported_by: str | None = Field(
        description="The token subject who reported; null for anonymous callers."
    )
    text: str
    language: str = Field(description="The language of `text`.")
    texts: LangMap
    progress: int | None
    old_status: ActionStatus | None = Field(
        description="The action's status before this update; null when it did not change it."
    )
    status: ActionStatus | None = Field(
        description="The status this update gave the action; null when it did not change it."
    )

    @classmethod
    def of(cls, update: ProgressUpdate, languages: Languages, *, show_author: bool) -> Self:
        """One progress update in the caller's language; who reported it only for token
        holders."""
        text, language = languages.pick(update.text)
        return cls(
            id=update.id,
            action=update.action_id,
            reported_at=update.reported_at,
            reported_by=update.reported_by if show_author else None,
            text=text or "",
            language=language or "en",
            texts=update.text,
            progress=update.progress,
            old_status=ActionStatus(update.old_status) if update.old_status else None,
            status=ActionStatus(update.status) if update.status else None,
        )
