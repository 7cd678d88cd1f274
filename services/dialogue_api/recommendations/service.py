"""Recommendations: what an event recommends, to which cities, with a dated status history and
the profile indicators that motivate it or measure its effect.

They are seen by whoever sees their event and changed by whoever may change it (admins and
editors of the host city). Every change is announced as ``recommendation.changed``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.access import sees_unpublished
from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
from services.dialogue_api.assessments.service import (
    CitedKey,
    cited_indicators,
    ensure_cited_indicators,
)
from services.dialogue_api.cities.service import ensure_known_cities
from services.dialogue_api.db import events as outbox
from services.dialogue_api.events.models import Event
from services.dialogue_api.events.repository import EventRepository
from services.dialogue_api.events.schemas import EventStatus
from services.dialogue_api.events.service import ensure_event_editor
from services.dialogue_api.indicators.models import IndicatorRef
from services.dialogue_api.indicators.profiles import Figure, ProfilesClient, ProfilesUnavailable
from services.dialogue_api.indicators.service import ensure_known_indicators, indicators_by_code
from services.dialogue_api.recommendations.figures import (
    UNAVAILABLE,
    UNCONFIGURED,
    EvidenceFigures,
    baseline_and_latest,
)
from services.dialogue_api.recommendations.models import (
    Evidence,
    Recommendation,
    RecommendationStatusChange,
)
from services.dialogue_api.recommendations.repository import (
    RecommendationFilters,
    RecommendationRepository,
)
from services.dialogue_api.recommendations.schemas import (
    INITIAL_STATUSES,
    TRANSITIONS,
    EvidenceCreate,
    EvidenceRole,
    RecommendationCreate,
    RecommendationStatus,
    RecommendationUpdate,
)
from shared.auth import Principal
from shared.columns import apply_changes
from shared.concurrency import check_if_match
from shared.contracts.events import RecommendationChanged
from shared.errors import Conflict, NotFound, ValidationFailed, field_error, invalid
from shared.pagination import PageParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecommendationWithEvidence:
    """A recommendation with its evidence links; once ``described``, with their indicators
    (by code) and the figures of its ``measures`` links (by evidence id)."""

    recommendation: Recommendation
    evidence: list[Evidence]
    indicators: Mapping[str, IndicatorRef] = dataclasses.field(default_factory=dict)
    figures: Mapping[int, EvidenceFigures] = dataclasses.field(default_factory=dict)
    assessments: Mapping[CitedKey, tuple[AssessmentRef, AssessmentIndicatorRef]] = (
        dataclasses.field(default_factory=dict)
    )


def ensure_recommendation_editor(principal: Principal, event_host: str | None) -> None:
    """403 unless the caller may change the recommendations of an event hosted by
    ``event_host`` (the same people who may change the event)."""
    ensure_event_editor(principal, event_host)


async def _find(
    session: AsyncSession,
    principal: Principal | None,
    recommendation_id: int,
    *,
    lock: bool = False,
) -> tuple[Recommendation, Event]:
    found = await RecommendationRepository.from_session(session).with_event(
        recommendation_id, lock=lock
    )
    if found is None or not (found[1].public or sees_unpublished(principal)):
        raise NotFound(f"There is no recommendation {recommendation_id}.", id=recommendation_id)
    return found


async def _for_change(
    session: AsyncSession, principal: Principal, recommendation_id: int
) -> Recommendation:
    """The recommendation, locked, once the caller is known to be allowed to change it."""
    recommendation, event = await _find(session, principal, recommendation_id, lock=True)
    ensure_recommendation_editor(principal, event.host_city_code)
    return recommendation


async def get_recommendation(
    session: AsyncSession, principal: Principal | None, recommendation_id: int
) -> Recommendation:
    """The recommendation, if the caller may see its event (404 otherwise)."""
    recommendation, _ = await _find(session, principal, recommendation_id)
    return recommendation


async def with_evidence(
    session: AsyncSession, recommendations: Sequence[Recommendation]
) -> list[RecommendationWithEvidence]:
    """The recommendations with their evidence links, fetched in one query."""
    links = await RecommendationRepository.from_session(session).evidence_of(
        [r.id for r in recommendations]
    )
    return [RecommendationWithEvidence(r, links[r.id]) for r in recommendations]


async def described(
    session: AsyncSession, profiles: ProfilesClient, found: Sequence[RecommendationWithEvidence]
) -> list[RecommendationWithEvidence]:
    """``found`` with what their evidence shows: each indicator's names and unit (the read
    model of the catalogue) and, for ``measures`` links, the city's figure at the
    recommendation's date and its latest one, read from the profiles API in one go. When
    profiles cannot answer in time the figures are absent with a note: a read never fails
    for them."""
    every = [(item.recommendation, link) for item in found for link in item.evidence]
    # Catalogue indicators have names and figures; assessment indicators their score.
    links = [(r, link) for r, link in every if not link.framework_code]
    assessments = await cited_indicators(
        session,
        {
            (link.city_code, link.framework_code, link.indicator_code)
            for _, link in every
            if link.framework_code
        },
    )
    indicators = await indicators_by_code(session, {link.indicator_code for _, link in links})
    measured = [(r, link) for r, link in links if link.role == EvidenceRole.measures]
    figures: dict[int, EvidenceFigures] = {}
    if measured:
        try:
            totals = await profiles.totals(
                {link.city_code for _, link in measured},
                {link.indicator_code for _, link in measured},
            )
        except ProfilesUnavailable as exc:
            note = UNAVAILABLE
            if profiles.base_url is None:
                note = UNCONFIGURED
            else:
                log.warning("evidence figures left out: %s", exc)
            figures = {link.id: EvidenceFigures(note=note) for _, link in measured}
        else:
            series: dict[tuple[str, str], list[Figure]] = defaultdict(list)
            for figure in totals:
                series[figure.city, figure.indicator].append(figure)
            figures = {
                link.id: baseline_and_latest(
                    series[link.city_code, link.indicator_code],
                    on=recommendation.created_at.date(),
                )
                for recommendation, link in measured
            }
    return [
        dataclasses.replace(item, indicators=indicators, figures=figures, assessments=assessments)
        for item in found
    ]


async def list_recommendations(
    session: AsyncSession,
    principal: Principal | None,
    page: PageParams,
    *,
    event_id: int | None = None,
    theme: str | None = None,
    city: str | None = None,
    statuses: Sequence[str] = (),
    governance_level: str | None = None,
    indicator: str | None = None,
    evidence_city: str | None = None,
) -> list[RecommendationWithEvidence]:
    """A page of the recommendations the caller may see, by id."""
    filters = RecommendationFilters(
        event_id=event_id,
        theme=theme,
        city=city,
        statuses=statuses,
        governance_level=governance_level,
        indicator=indicator,
        evidence_city=evidence_city,
        public_only=not sees_unpublished(principal),
    )
    found = await RecommendationRepository.from_session(session).search(filters, page)
    return await with_evidence(session, found)


async def status_history(
    session: AsyncSession, principal: Principal | None, recommendation_id: int, page: PageParams
) -> Sequence[RecommendationStatusChange]:
    """A page of the recommendation's status changes, oldest first."""
    await get_recommendation(session, principal, recommendation_id)
    return await RecommendationRepository.from_session(session).history(recommendation_id, page)


def _repeats(field: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    """A field error for each value that repeats an earlier one (``target_cities.2``)."""
    seen: set[Any] = set()
    errors = []
    for index, value in enumerate(values):
        if value in seen:
            errors.append(field_error(f"{field}.{index}", "repeats an earlier entry"))
        seen.add(value)
    return errors


def _evidence_key(link: EvidenceCreate) -> tuple[str, str, str, str]:
    """(city, framework code or ``""`` for the catalogue, indicator code, role)."""
    if link.assessment is not None:
        return link.city, link.assessment.framework, link.assessment.indicator, link.role.value
    return link.city, "", link.indicator or "", link.role.value


def _cited_errors(link: EvidenceCreate, prefix: str) -> list[dict[str, Any]]:
    """A link cites exactly one of a catalogue indicator and an assessment indicator."""
    if (link.indicator is None) == (link.assessment is None):
        message = (
            "give either a catalogue indicator or an assessment indicator, not both"
            if link.indicator is not None
            else "give a catalogue indicator (indicator) or an assessment indicator (assessment)"
        )
        return [
            field_error(f"{prefix}indicator", message),
            field_error(f"{prefix}assessment", message),
        ]
    return []


async def _ensure_cited(session: AsyncSession, links: Mapping[str, EvidenceCreate]) -> None:
    """422 naming each link (by its field prefix, ``evidence.0.``) that cites nothing or two
    things, a catalogue indicator not in the catalogue, or an assessment indicator no
    published assessment of its city has."""
    errors = [error for prefix, link in links.items() for error in _cited_errors(link, prefix)]
    if errors:
        raise ValidationFailed("Evidence cites one indicator.", errors=errors)
    await ensure_known_indicators(
        session,
        {
            f"{prefix}indicator": link.indicator
            for prefix, link in links.items()
            if link.indicator is not None
        },
    )
    await ensure_cited_indicators(
        session,
        {
            f"{prefix}assessment.indicator": (
                link.city,
                link.assessment.framework,
                link.assessment.indicator,
            )
            for prefix, link in links.items()
            if link.assessment is not None
        },
    )


async def _announce(
    session: AsyncSession,
    principal: Principal,
    recommendation: Recommendation,
    *,
    previous_status: str | None = None,
) -> None:
    await outbox.add(
        session,
        RecommendationChanged(
            recommendation_id=recommendation.id,
            event_id=recommendation.event_id,
            status=recommendation.status,
            previous_status=previous_status,
            target_cities=recommendation.target_cities,
        ),
        actor=principal.subject,
    )


async def _source_event(session: AsyncSession, principal: Principal, event_id: int) -> Event:
    """The event a new recommendation comes from: 422 naming ``event`` if the caller cannot
    see it, 403 if they may not change it, 409 if it was cancelled."""
    event = await EventRepository.from_session(session).get(event_id)
    if event is None or not (event.public or sees_unpublished(principal)):
        raise invalid("event", f"there is no event {event_id}", value=event_id)
    ensure_recommendation_editor(principal, event.host_city_code)
    if event.status == EventStatus.cancelled:
        raise Conflict(
            f"Event {event_id} was cancelled; it recommends nothing.",
            errors=[field_error("event", "the event was cancelled", value=event_id)],
        )
    return event


async def create_recommendation(
    session: AsyncSession, principal: Principal, payload: RecommendationCreate
) -> RecommendationWithEvidence:
    """Record what an event recommends, with its first history step and evidence links."""
    event = await _source_event(session, principal, payload.event)
    errors = [
        error
        for i, link in enumerate(payload.evidence)
        for error in _cited_errors(link, f"evidence.{i}.")
    ]
    if not errors:  # links citing nothing would all repeat each other
        errors += _repeats("evidence", [_evidence_key(link) for link in payload.evidence])
    errors += _repeats("target_cities", payload.target_cities)
    if payload.status not in INITIAL_STATUSES:
        errors.append(field_error("status", "a new recommendation is proposed or adopted"))
    if errors:
        raise ValidationFailed("The recommendation is not consistent.", errors=errors)
    cities: dict[str, str | Sequence[str] | None] = {"target_cities": payload.target_cities}
    cities |= {f"evidence.{i}.city": link.city for i, link in enumerate(payload.evidence)}
    await ensure_known_cities(session, cities)
    await _ensure_cited(
        session, {f"evidence.{i}.": link for i, link in enumerate(payload.evidence)}
    )

    repository = RecommendationRepository.from_session(session)
    recommendation = Recommendation(
        event_id=event.id,
        theme=payload.theme.value,
        text=payload.text,
        target_cities=payload.target_cities,
        governance_level=payload.governance_level.value,
        status=payload.status.value,
    )
    await repository.add(recommendation)
    session.add(
        RecommendationStatusChange(
            recommendation_id=recommendation.id,
            old_status=None,
            status=recommendation.status,
            changed_by=principal.subject,
            note=payload.status_note,
        )
    )
    links = [_link(recommendation.id, link) for link in payload.evidence]
    session.add_all(links)
    await repository.flush()
    await session.refresh(recommendation)
    for link in links:
        await session.refresh(link)
    await _announce(session, principal, recommendation)
    return RecommendationWithEvidence(recommendation, links)


def _check_status(
    current: RecommendationStatus, changes: Mapping[str, Any]
) -> RecommendationStatus | None:
    """The new status if the change moves it (409 if it may not go there)."""
    status: RecommendationStatus | None = changes.get("status")
    if status is None or status == current:
        if changes.get("status_note") is not None:
            raise invalid("status_note", "a note goes with a change of status")
        return None
    if status not in TRANSITIONS[current]:
        raise Conflict(
            f"A recommendation that is {current} cannot become {status}.",
            errors=[field_error("status", f"cannot go from {current} to {status}")],
        )
    return status


async def update_recommendation(
    session: AsyncSession,
    principal: Principal,
    recommendation_id: int,
    payload: RecommendationUpdate,
    *,
    if_match: str | None,
) -> Recommendation:
    """Change a recommendation; a change of status is checked and added to its history."""
    recommendation = await _for_change(session, principal, recommendation_id)
    check_if_match(if_match, recommendation.version, resource="recommendation")
    changes = payload.changes()
    if (cities := changes.get("target_cities")) is not None:
        if errors := _repeats("target_cities", cities):
            raise ValidationFailed("The target cities repeat a city.", errors=errors)
        await ensure_known_cities(session, {"target_cities": cities})
    previous = RecommendationStatus(recommendation.status)
    status = _check_status(previous, changes)
    apply_changes(recommendation, {f: v for f, v in changes.items() if f != "status_note"})
    repository = RecommendationRepository.from_session(session)
    if not await repository.save_changes(recommendation, resource="recommendation"):
        return recommendation
    if status is not None:
        session.add(
            RecommendationStatusChange(
                recommendation_id=recommendation.id,
                old_status=previous.value,
                status=status.value,
                changed_by=principal.subject,
                note=changes.get("status_note"),
            )
        )
        await repository.flush()
    await _announce(
        session,
        principal,
        recommendation,
        previous_status=previous.value if status is not None else None,
    )
    return recommendation


async def delete_recommendation(
    session: AsyncSession, principal: Principal, recommendation_id: int, *, if_match: str | None
) -> None:
    """Remove a recommendation nobody follows up (drop it otherwise)."""
    recommendation = await _for_change(session, principal, recommendation_id)
    check_if_match(if_match, recommendation.version, resource="recommendation", required=False)
    repository = RecommendationRepository.from_session(session)
    if actions := await repository.action_ids(recommendation_id):
        raise Conflict(
            f"Recommendation {recommendation_id} is followed up by actions "
            f"{', '.join(map(str, actions))}; drop it instead of removing it.",
            actions=actions,
        )
    await repository.delete(recommendation)


async def _touch(
    session: AsyncSession, principal: Principal, recommendation: Recommendation
) -> None:
    """A new version of the recommendation whose evidence changed (its ETag covers them)."""
    recommendation.version += 1
    await RecommendationRepository.from_session(session).flush(resource="recommendation")
    await _announce(session, principal, recommendation)


async def add_evidence(
    session: AsyncSession, principal: Principal, recommendation_id: int, payload: EvidenceCreate
) -> RecommendationWithEvidence:
    """Link a city's indicator to the recommendation (409 if that link exists); the
    recommendation with the new link alone."""
    recommendation = await _for_change(session, principal, recommendation_id)
    await ensure_known_cities(session, {"city": payload.city})
    await _ensure_cited(session, {"": payload})
    repository = RecommendationRepository.from_session(session)
    city, framework, indicator, role = _evidence_key(payload)
    if await repository.has_evidence(
        recommendation_id,
        city_code=city,
        framework_code=framework,
        indicator_code=indicator,
        role=role,
    ):
        cited = f"{framework} indicator {indicator}" if framework else indicator
        field = "assessment.indicator" if framework else "indicator"
        raise Conflict(
            f"Recommendation {recommendation_id} already has {cited} of {city} as "
            f"evidence that {role} it.",
            errors=[
                field_error(name, "already linked", value=value)
                for name, value in (("city", city), (field, indicator), ("role", role))
            ],
        )
    link = _link(recommendation_id, payload)
    session.add(link)
    await _touch(session, principal, recommendation)
    await session.refresh(link)
    return RecommendationWithEvidence(recommendation, [link])


async def remove_evidence(
    session: AsyncSession, principal: Principal, recommendation_id: int, evidence_id: int
) -> None:
    """Remove an evidence link of the recommendation."""
    recommendation = await _for_change(session, principal, recommendation_id)
    repository = RecommendationRepository.from_session(session)
    link = await repository.evidence(recommendation_id, evidence_id)
    if link is None:
        raise NotFound(
            f"Recommendation {recommendation_id} has no evidence {evidence_id}.", id=evidence_id
        )
    await session.delete(link)
    await _touch(session, principal, recommendation)


def _link(recommendation_id: int, payload: EvidenceCreate) -> Evidence:
    city, framework, indicator, role = _evidence_key(payload)
    return Evidence(
        recommendation_id=recommendation_id,
        city_code=city,
        framework_code=framework,
        indicator_code=indicator,
        role=role,
        note=payload.note,
    )
