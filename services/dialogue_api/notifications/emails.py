"""The e-mails each dialogue event causes, and to whom.

- ``registration.changed``: the person — an invitation, a confirmation, the waiting list, a
  place from the waiting list, or the acknowledgement of a decline or cancellation (nothing
  for attendance). Invitations and places carry the event as a calendar REQUEST; giving up
  an invitation or place carries a CANCEL.
- ``event.changed`` (not a creation; only a change of times, place, online link, timezone
  or status, and not the event being marked held): everyone registered, waitlisted or
  invited whose registration was made by the change, with the updated event (REQUEST). A
  burst of changes is told once, when it pauses (``changes.py``): one e-mail per person
  registered by its last change, keyed by that change, showing the event as it is then;
  nothing if the event was cancelled or held meanwhile (the cancellation has its own).
- ``event.cancelled``: at once, everyone registered, waitlisted or invited, with the
  event's CANCEL. People on the waiting list, who hold no place, get no calendar.
- ``recommendation.changed``: the focal points, officials and mayors of the target cities
  who consented to be contacted — once when the recommendation first reaches them, then at
  each change of status (edits of wording or evidence tell nobody).
- ``action.changed``: the action's owner.
- ``exchange.matched``: the contacts of both exchanges, each told of the other side.
- ``edition.published`` (a profiles event): the focal points, officials and mayors of the
  edition's city who consented to be contacted, once each.
- ``assessment.submitted``, ``assessment.validated``, ``assessment.published`` (profiles
  events): the same people of the assessment's city, once each per event; a publication
  says the overall score and how many indicators score below 50 (the gaps' default).

Each e-mail is claimed with its key before it is sent (``claims.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.actions.models import Action
from services.dialogue_api.cities.models import CityRef
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.schemas import EventStatus
from services.dialogue_api.exchanges.models import Exchange
from services.dialogue_api.notifications import changes, recipients
from services.dialogue_api.notifications.calendar import Invitations, Method
from services.dialogue_api.notifications.claims import claim_and_enqueue, email_key
from services.dialogue_api.notifications.messages import (
    Attachment,
    city_name,
    event_fields,
    mail_to,
    text_in,
    theme_name,
)
from services.dialogue_api.notifications.service import Delivery
from services.dialogue_api.notifications.templates import (
    Kind,
    mail_date,
    mail_number,
    word,
)
from services.dialogue_api.people.models import Person
from services.dialogue_api.recommendations.models import Recommendation
from services.dialogue_api.registrations.schemas import RegistrationStatus as Status
from shared.contracts.events import (
    ActionChanged,
    AssessmentPublished,
    AssessmentStatusFields,
    AssessmentSubmitted,
    AssessmentValidated,
    EditionPublished,
    EventCancelled,
    EventChanged,
    ExchangeMatched,
    OutboxEvent,
    RecommendationChanged,
    RegistrationChanged,
)
from shared.jobs import Handler, JobContext

log = logging.getLogger(__name__)

_REGISTRATION_KINDS = {
    Status.invited: Kind.invitation,
    Status.registered: Kind.registered,
    Status.waitlisted: Kind.waitlisted,
    Status.declined: Kind.declined,
    Status.cancelled: Kind.cancelled,
}
#: Statuses in which a person has the event in their calendar (from our REQUEST).
_IN_CALENDAR = (Status.invited.value, Status.registered.value)
#: The changes of an event its participants are told of.
NOTIFIED_FIELDS = frozenset({"starts_at", "ends_at", "venue", "online_url", "timezone", "status"})
#: Events whose changes waiting to be told are told no more: a cancelled event's people had
#: its CANCEL (a REQUEST after it would put it back in their calendars); a held one is over.
_NOTHING_TO_TELL = (EventStatus.cancelled.value, EventStatus.held.value)


def _calendar(
    invitations: Invitations, person: Person, method: Method, *, accepted: bool = True
) -> Attachment:
    def render(language: str) -> tuple[Method, str]:
        ics = invitations.to(person, method=method, language=language, accepted=accepted)
        return method, ics

    return render


def _invitations(worker: JobContext, event: Event) -> Invitations:
    return Invitations(event, sender=worker.settings.mail_from, now=datetime.now(UTC))


async def _cities(session: AsyncSession, codes: Collection[str]) -> dict[str, CityRef]:
    if not codes:
        return {}
    found = await session.scalars(select(CityRef).where(CityRef.code.in_(list(codes))))
    return {city.code: city for city in found}


async def on_registration_changed(worker: JobContext, outbox_event: OutboxEvent) -> None:
    payload = RegistrationChanged.model_validate(outbox_event.data)
    status = Status(payload.status)
    kind = _REGISTRATION_KINDS.get(status)
    if kind is None:  # attendance is recorded, not announced
        return
    if status is Status.registered and payload.promoted_from_waitlist:
        kind = Kind.promoted

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        person = await session.get(Person, payload.person_id)
        event = await session.get(Event, payload.event_id)
        if person is None or event is None:
            return []
        attachment = None
        invitations = _invitations(worker, event)
        if status in (Status.invited, Status.registered):
            attachment = _calendar(
                invitations, person, Method.request, accepted=status is Status.registered
            )
        elif status in (Status.declined, Status.cancelled) and (
            payload.previous_status in _IN_CALENDAR
        ):
            attachment = _calendar(invitations, person, Method.cancel)
        return [
            mail_to(
                person,
                key=email_key(outbox_event.id, person.id),
                kind=kind,
                event_type=outbox_event.type,
                outbox_event_id=outbox_event.id,
                fields=partial(event_fields, event),
                attachment=attachment,
            )
        ]

    await claim_and_enqueue(worker, build)


async def _participant_mails(
    worker: JobContext,
    session: AsyncSession,
    event: Event,
    *,
    outbox_event_id: uuid.UUID,
    event_type: str,
    kind: Kind,
    method: Method,
    registered_by: datetime | None = None,
) -> list[Delivery]:
    """The e-mail of ``kind`` to everyone registered, waitlisted or invited to the event
    (made at or before ``registered_by`` when given), keyed by ``outbox_event_id``."""
    invitations = _invitations(worker, event)
    return [
        mail_to(
            person,
            key=email_key(outbox_event_id, person.id),
            kind=kind,
            event_type=event_type,
            outbox_event_id=outbox_event_id,
            fields=partial(event_fields, event),
            attachment=_calendar(invitations, person, method, accepted=status == Status.registered)
            if status in _IN_CALENDAR
            else None,
        )
        for person, status in await recipients.registrants(
            session, event.id, registered_by=registered_by
        )
    ]


async def on_event_changed(worker: JobContext, outbox_event: OutboxEvent) -> None:
    """A change its participants are told of joins the event's burst of changes, told once
    it pauses (``tell_event_changes``)."""
    payload = EventChanged.model_validate(outbox_event.data)
    if payload.created or payload.status == EventStatus.held:
        return
    if not NOTIFIED_FIELDS.intersection(payload.changed_fields):
        return
    await changes.request_notice(worker, outbox_event, payload.event_id)


async def tell_event_changes(worker: JobContext, event_id: int, due_ms: int) -> str:
    """Tell the event's participants of its burst of changes due at ``due_ms``, if that
    burst is still the one waiting: one e-mail each to the people registered by its last
    change, keyed by it, showing the event as it is now. What was done."""
    outcome = "superseded by a later change, or told already"

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        nonlocal outcome
        burst = await changes.take_notice(session, event_id, due_ms)
        if burst is None:
            return []
        event = await session.get(Event, event_id)
        if event is None or event.status in _NOTHING_TO_TELL:
            outcome = "nothing to tell: the event is removed, cancelled or held"
            return []
        mails = await _participant_mails(
            worker,
            session,
            event,
            outbox_event_id=burst.last_change_id,
            event_type=EventChanged.event_type,
            kind=Kind.event_changed,
            method=Method.request,
            registered_by=burst.last_change_at,
        )
        outcome = f"{len(mails)} told of change {burst.last_change_id}"
        return mails

    await claim_and_enqueue(worker, build)
    return outcome


async def tell_overdue_event_changes(worker: JobContext, now: datetime | None = None) -> int:
    """Tell every burst of changes long past due at ``now`` (the present unless given): its
    job was lost. How many bursts were told."""
    async with worker.database.sessionmaker() as session:
        overdue = await changes.overdue(session, now or datetime.now(UTC))
    for event_id, due_ms in overdue:
        await tell_event_changes(worker, event_id, due_ms)
    if overdue:
        log.warning("told %d bursts of event changes whose job was missing", len(overdue))
    return len(overdue)


async def on_event_cancelled(worker: JobContext, outbox_event: OutboxEvent) -> None:
    """A cancellation is told at once, never merged with the changes before it."""
    payload = EventCancelled.model_validate(outbox_event.data)

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        event = await session.get(Event, payload.event_id)
        if event is None:  # removed: nobody was registered (removal needs that)
            return []
        return await _participant_mails(
            worker,
            session,
            event,
            outbox_event_id=outbox_event.id,
            event_type=outbox_event.type,
            kind=Kind.event_cancelled,
            method=Method.cancel,
        )

    await claim_and_enqueue(worker, build)


async def on_recommendation_changed(worker: JobContext, outbox_event: OutboxEvent) -> None:
    payload = RecommendationChanged.model_validate(outbox_event.data)

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        recommendation = await session.get(Recommendation, payload.recommendation_id)
        if recommendation is None:
            return []
        event = await session.get(Event, recommendation.event_id)
        cities = await _cities(session, recommendation.target_cities)

        def fields(language: str) -> dict[str, str]:
            names = [city_name(c, cities, language) for c in recommendation.target_cities]
            return {
                "event": text_in(event.title, language) if event is not None else "",
                "cities": ", ".join(names),
                "theme": theme_name(recommendation.theme, language),
                "level": word(language, recommendation.governance_level),
                "text": text_in(recommendation.text, language),
                "status": word(language, payload.status),
                "previous": word(language, payload.previous_status or ""),
            }

        deliveries = []
        for person in await recipients.focal_points(session, recommendation.target_cities):
            if payload.previous_status is None:
                # Creation, or an edit: each person hears of the recommendation once.
                key, kind = (
                    f"recommendation:{recommendation.id}:new:person:{person.id}",
                    (Kind.recommendation_new),
                )
            else:
                key, kind = email_key(outbox_event.id, person.id), Kind.recommendation_status
            deliveries.append(
                mail_to(
                    person,
                    key=key,
                    kind=kind,
                    event_type=outbox_event.type,
                    outbox_event_id=outbox_event.id,
                    fields=fields,
                )
            )
        return deliveries

    await claim_and_enqueue(worker, build)


async def on_action_changed(worker: JobContext, outbox_event: OutboxEvent) -> None:
    payload = ActionChanged.model_validate(outbox_event.data)

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        action = await session.get(Action, payload.action_id)
        if action is None or action.owner_id is None:
            return []
        owner = await session.get(Person, action.owner_id)
        if owner is None:
            return []
        cities = await _cities(session, [action.city_code])
        return [
            mail_to(
                owner,
                key=email_key(outbox_event.id, owner.id),
                kind=Kind.action_changed,
                event_type=outbox_event.type,
                outbox_event_id=outbox_event.id,
                fields=partial(action_text, action, cities),
            )
        ]

    await claim_and_enqueue(worker, build)


def action_text(action: Action, cities: Mapping[str, CityRef], language: str) -> dict[str, str]:
    """An action's title, city, status and due date in ``language``."""
    return {
        "action": text_in(action.title, language),
        "city": city_name(action.city_code, cities, language),
        "status": word(language, action.status),
        "due_on": mail_date(action.due_on, language),
    }


async def on_exchange_matched(worker: JobContext, outbox_event: OutboxEvent) -> None:
    payload = ExchangeMatched.model_validate(outbox_event.data)

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        found = await session.scalars(
            select(Exchange).where(Exchange.id.in_([payload.request_id, payload.offer_id]))
        )
        sides = {exchange.id: exchange for exchange in found}
        request, offer = sides.get(payload.request_id), sides.get(payload.offer_id)
        if request is None or offer is None:
            return []
        contacts = await recipients.people(session, [request.contact_id, offer.contact_id])
        cities = await _cities(session, [request.city_code, offer.city_code])
        deliveries = []
        for mine, theirs in ((request, offer), (offer, request)):
            contact = contacts.get(mine.contact_id) if mine.contact_id is not None else None
            if contact is None:
                continue
            other = contacts.get(theirs.contact_id) if theirs.contact_id is not None else None

            def fields(
                language: str,
                mine: Exchange = mine,
                theirs: Exchange = theirs,
                other: Person | None = other,
            ) -> dict[str, str]:
                if other is None:
                    reach = word(language, "nobody")
                elif other.consent_contact:
                    reach = f"{other.name} <{other.email}>"
                else:
                    reach = other.name
                return {
                    "kind": word(language, mine.kind),
                    "city": city_name(mine.city_code, cities, language),
                    "theme": theme_name(payload.theme, language),
                    "title": text_in(mine.title, language),
                    "other_kind": word(language, theirs.kind),
                    "other_city": city_name(theirs.city_code, cities, language),
                    "other_title": text_in(theirs.title, language),
                    "other_contact": reach,
                }

            deliveries.append(
                mail_to(
                    contact,
                    key=email_key(outbox_event.id, contact.id),
                    kind=Kind.exchange_matched,
                    event_type=outbox_event.type,
                    outbox_event_id=outbox_event.id,
                    fields=fields,
                )
            )
        return deliveries

    await claim_and_enqueue(worker, build)


async def on_edition_published(worker: JobContext, outbox_event: OutboxEvent) -> None:
    payload = EditionPublished.model_validate(outbox_event.data)
    root = (worker.settings.public_url or "").rstrip("/")

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        cities = await _cities(session, [payload.city])

        def fields(language: str) -> dict[str, str]:
            return {
                "city": city_name(payload.city, cities, language),
                "edition": payload.edition_id,
                "published_on": mail_date(payload.published_at.date(), language),
                "content_hash": payload.content_hash,
                # The report in the reader's language, at the public address when it is set.
                "path": f"{root}/v1/editions/{payload.edition_id}/report?lang={language}",
            }

        return [
            mail_to(
                person,
                key=email_key(outbox_event.id, person.id),
                kind=Kind.edition_published,
                event_type=outbox_event.type,
                outbox_event_id=outbox_event.id,
                fields=fields,
            )
            for person in await recipients.focal_points(session, [payload.city])
        ]

    await claim_and_enqueue(worker, build)


#: The threshold below which a published assessment's indicator counts as a gap in its mail
#: (the default of ``GET /v1/cities/{code}/assessment-gaps``).
GAP_THRESHOLD = 50.0
_ASSESSMENT_KINDS: Mapping[str, tuple[type[AssessmentStatusFields], Kind]] = {
    AssessmentSubmitted.event_type: (AssessmentSubmitted, Kind.assessment_submitted),
    AssessmentValidated.event_type: (AssessmentValidated, Kind.assessment_validated),
    AssessmentPublished.event_type: (AssessmentPublished, Kind.assessment_published),
}


async def on_assessment_changed(worker: JobContext, outbox_event: OutboxEvent) -> None:
    """A city's assessment was submitted, validated or published: its focal points, officials
    and mayors who consented to be contacted are told, once each."""
    model, kind = _ASSESSMENT_KINDS[outbox_event.type]
    payload = model.model_validate(outbox_event.data)
    root = (worker.settings.public_url or "").rstrip("/")

    async def build(session: AsyncSession) -> Sequence[Delivery]:
        cities = await _cities(session, [payload.city])

        def fields(language: str) -> dict[str, str]:
            found = {
                "city": city_name(payload.city, cities, language),
                "framework": text_in(payload.framework.titles, language) or payload.framework.code,
                "version": payload.framework.version,
                "reference_date": mail_date(payload.reference_date, language),
            }
            if isinstance(payload, AssessmentPublished):
                overall = next((s for s in payload.scores if s.level == "overall"), None)
                gaps = sum(
                    1
                    for s in payload.scores
                    if s.level == "indicator" and s.score is not None and s.score < GAP_THRESHOLD
                )
                found |= {
                    "overall": (
                        mail_number(overall.score, language)
                        if overall is not None and overall.score is not None
                        else word(language, "none")
                    ),
                    "threshold": mail_number(GAP_THRESHOLD, language),
                    "gaps": mail_number(gaps, language),
                    "path": f"{root}/v1/cities/{payload.city}/assessment-gaps",
                }
            return found

        return [
            mail_to(
                person,
                key=email_key(outbox_event.id, person.id),
                kind=kind,
                event_type=outbox_event.type,
                outbox_event_id=outbox_event.id,
                fields=fields,
            )
            for person in await recipients.focal_points(session, [payload.city])
        ]

    await claim_and_enqueue(worker, build)


#: The e-mail handler of each event type people are told of.
EMAIL_HANDLERS: Mapping[str, Handler] = {
    RegistrationChanged.event_type: on_registration_changed,
    EventChanged.event_type: on_event_changed,
    EventCancelled.event_type: on_event_cancelled,
    RecommendationChanged.event_type: on_recommendation_changed,
    ActionChanged.event_type: on_action_changed,
    ExchangeMatched.event_type: on_exchange_matched,
    EditionPublished.event_type: on_edition_published,
    **dict.fromkeys(_ASSESSMENT_KINDS, on_assessment_changed),
}
