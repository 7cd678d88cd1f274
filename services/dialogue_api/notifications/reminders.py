"""Reminders from the calendar: a week and a day before an event, to the people registered;
a week before an action is due and on the day, to its owner.

The cron job runs every few minutes and claims every reminder whose time has come, keyed
``reminder:event:<id>:7d:person:<id>`` (``1d``) and ``reminder:action:<id>:7d:person:<id>``
(``due``), so each is sent once however often it runs. A reminder goes only to people
registered (or actions created) before its time: someone registered four days before an
event has just had their confirmation, and gets the day-before reminder only. Nothing is
sent for events cancelled or held, or actions done or cancelled, nor once the next reminder's
time has come. Action dates are days in the action city's calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Date, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.actions.models import Action
from services.dialogue_api.actions.schemas import CLOSED_STATUSES
from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.schemas import EventStatus
from services.dialogue_api.notifications.claims import claim_and_enqueue
from services.dialogue_api.notifications.emails import action_text
from services.dialogue_api.notifications.messages import event_fields, mail_to
from services.dialogue_api.notifications.service import Delivery
from services.dialogue_api.notifications.templates import Kind
from services.dialogue_api.people.models import Person
from services.dialogue_api.registrations.models import Registration
from services.dialogue_api.registrations.schemas import RegistrationStatus
from shared.jobs import JobContext

EVENT_REMINDER = "reminder.event"
ACTION_REMINDER = "reminder.action"
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
_OPEN_EVENTS = (EventStatus.planned.value, EventStatus.confirmed.value)


async def _event_reminders(
    session: AsyncSession, now: datetime, *, before: timedelta, until: timedelta, label: str
) -> list[Delivery]:
    """Reminders of events starting within ``before`` of ``now`` but not within ``until``,
    to people registered before the reminder's time."""
    kind = Kind.event_in_7_days if label == "7d" else Kind.event_tomorrow
    rows = await session.execute(
        select(Event, Person)
        .join(Registration, Registration.event_id == Event.id)
        .join(Person, Person.id == Registration.person_id)
        .where(
            Event.status.in_(_OPEN_EVENTS),
            Event.starts_at <= now + before,
            Event.starts_at > now + until,
            Registration.status == RegistrationStatus.registered.value,
            Registration.status_changed_at <= Event.starts_at - before,
        )
        .order_by(Event.id, Person.id)
    )
    return [
        mail_to(
            person,
            key=f"reminder:event:{event.id}:{label}:person:{person.id}",
            kind=kind,
            event_type=EVENT_REMINDER,
            fields=partial(event_fields, event),
        )
        for event, person in rows
    ]


async def _action_reminders(session: AsyncSession, now: datetime) -> list[Delivery]:
    """Reminders of open actions due in a week or today, in their city's calendar, to owners
    of actions that existed a week before (or the day before) they are due."""
    today = cast(func.timezone(CityRef.timezone, now), Date)
    created_on = cast(func.timezone(CityRef.timezone, Action.created_at), Date)
    week_before = Action.due_on - 7
    due_today = and_(today == Action.due_on, created_on < Action.due_on)
    due_in_a_week = and_(today >= week_before, today < Action.due_on, created_on <= week_before)
    rows = await session.execute(
        select(Action, Person, CityRef, (today == Action.due_on).label("today"))
        .join(CityRef, CityRef.code == Action.city_code)
        .join(Person, Person.id == Action.owner_id)
        .where(Action.status.not_in(CLOSED_STATUSES), or_(due_today, due_in_a_week))
        .order_by(Action.id)
    )
    return [
        mail_to(
            owner,
            key=f"reminder:action:{action.id}:{'due' if is_today else '7d'}:person:{owner.id}",
            kind=Kind.action_due_today if is_today else Kind.action_due_in_7_days,
            event_type=ACTION_REMINDER,
            fields=partial(action_text, action, {city.code: city}),
        )
        for action, owner, city, is_today in rows
    ]


async def send_reminders(worker: JobContext, now: datetime | None = None) -> int:
    """Claim and enqueue every reminder due at ``now`` (the present unless given); how many
    deliveries were enqueued."""
    at = now or datetime.now(UTC)

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        return [
            *await _event_reminders(session, at, before=WEEK, until=DAY, label="7d"),
            *await _event_reminders(session, at, before=DAY, until=timedelta(0), label="1d"),
            *await _action_reminders(session, at),
        ]

    return await claim_and_enqueue(worker, build)
