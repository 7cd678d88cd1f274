"""Editions: a city's migration profile frozen as published, citable and never changed."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.cities.service import get_city
from services.profiles_api.compare.service import Match, comparability_warnings
from services.profiles_api.db import events
from services.profiles_api.editions import changes, snapshot
from services.profiles_api.editions.citation import Citation
from services.profiles_api.editions.models import Edition
from services.profiles_api.editions.repository import EditionRepository
from services.profiles_api.editions.schemas import NETWORK, EditionChanges, WithdrawalCreate
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.repository import latest_totals
from services.profiles_api.observations.suppression import Suppression
from services.profiles_api.profiles.service import AssembledProfile, assemble_profile
from shared.auth import Principal, ensure_city_editor
from shared.contracts.events import EditionPublished
from shared.errors import Conflict, NotFound, ProblemError, invalid
from shared.i18n import Languages
from shared.pagination import PageParams


def public_reader(suppression_threshold: int) -> Reader:
    """An edition is read by anyone: it is frozen as an anonymous caller reads the profile."""
    return Reader(principal=None, suppression_threshold=suppression_threshold)


async def _comparability(
    session: AsyncSession, profile: AssembledProfile, suppression: Suppression
) -> list[dict[str, Any]]:
    """For each key figure, why it may not compare with the other cities' latest totals of
    the indicator (population concept, unit, scope, period, estimates)."""
    cities = {city.code: city for city in await CityRepository.from_session(session).all()}
    codes = [figure.indicator.code for figure in profile.figures]
    rows = await latest_totals(session, cities=list(cities), indicators=codes)
    by_indicator: dict[str, list[Match]] = defaultdict(list)
    for figure in profile.figures:
        by_indicator[figure.indicator.code] = []
    indicators = {figure.indicator.code: figure.indicator for figure in profile.figures}
    for observation, source in rows:
        code = observation.indicator_code
        by_indicator[code].append(
            Match(
                cities[observation.city_code],
                observation,
                source,
                indicators[code],
                suppression.shown(observation),
            )
        )
    notes = []
    for code, matches in by_indicator.items():
        if len(matches) < 2:
            continue
        if warnings := comparability_warnings(matches):
            notes.append(snapshot.warnings_json(code, warnings))
    return notes


async def _assessments(session: AsyncSession, city_code: str) -> list[dict[str, Any]]:
    """The city's published assessments with their scores, as the edition keeps them."""
    repository = AssessmentRepository.from_session(session)
    kept = []
    for assessment, framework in await repository.for_city(city_code, published_only=True):
        scores = await repository.scores(city_code, assessment.id, framework.id)
        titles = await repository.item_titles(framework.id)
        kept.append(snapshot.assessment_json(assessment, framework, scores, titles))
    return kept


async def publish_edition(
    session: AsyncSession, principal: Principal, city_code: str, *, suppression_threshold: int
) -> Edition:
    """Freeze the city's profile as it is published now, as the public reads it."""
    await get_city(session, city_code)
    ensure_city_editor(principal, city_code)
    reader = public_reader(suppression_threshold)
    profile = await assemble_profile(session, reader, city_code)
    published_at = profile.generated_at.replace(microsecond=0)
    repository = EditionRepository.from_session(session)
    year = published_at.year
    number = await repository.next_number(city_code, year)
    edition_id = f"{city_code}-{year}-{number}"

    suppression = await Suppression.load(session, reader)
    values = [
        (observation, source, suppression.shown(observation))
        for observation, source in await repository.preferred_values(city_code)
    ]
    keys = {(f.indicator.code, f.observation.period, f.observation.scope) for f in profile.figures}
    aggregates = [
        aggregate
        for aggregate in await repository.network_totals(sorted({key[0] for key in keys}))
        if (aggregate.indicator_code, aggregate.period, aggregate.scope) in keys
        and not suppression.hides_aggregate(
            aggregate.indicator_code,
            aggregate.disaggregation,
            aggregate.min_value,
            aggregate.cities,
        )
    ]
    content, digest = snapshot.canonical(
        snapshot.build(
            edition={
                "id": edition_id,
                "city": city_code,
                "network": NETWORK,
                "published_at": snapshot.published_at_json(published_at),
            },
            city=profile.city,
            indicators=await IndicatorRepository.from_session(session).all(),
            values=values,
            key_figures=[figure.observation for figure in profile.figures],
            sections=profile.sections,
            challenges=profile.challenges,
            coverage=profile.coverage,
            comparability=await _comparability(session, profile, suppression),
            aggregates=aggregates,
            assessments=await _assessments(session, city_code),
        )
    )
    edition = Edition(
        id=edition_id,
        city_code=city_code,
        year=year,
        number=number,
        published_at=published_at,
        published_by=principal.subject,
        content=content,
        content_hash=digest,
    )
    await repository.add(edition)
    await events.add(
        session,
        EditionPublished(
            edition_id=edition.id,
            city=city_code,
            published_at=published_at,
            content_hash=digest,
        ),
        actor=principal.subject,
    )
    return edition


async def find_edition(session: AsyncSession, edition_id: str) -> Edition:
    """The edition, withdrawn or not; 404 if there is none."""
    edition = await EditionRepository.from_session(session).find(edition_id)
    if edition is None:
        raise NotFound(f"No edition {edition_id}.", id=edition_id)
    return edition


async def successor_of(session: AsyncSession, edition: Edition) -> str | None:
    """The edition replacing a withdrawn one: the one named at the withdrawal, else the
    latest later edition of the city still published."""
    if edition.successor_id is not None:
        return edition.successor_id
    later = await EditionRepository.from_session(session).latest_after(edition)
    return later.id if later is not None else None


async def get_edition(session: AsyncSession, edition_id: str) -> Edition:
    """The edition; 404 if unknown, 410 (naming the reason and successor) if withdrawn."""
    edition = await find_edition(session, edition_id)
    if edition.withdrawn_at is not None:
        successor = await successor_of(session, edition)
        detail = f"Edition {edition.id} was withdrawn: {edition.withdrawal_reason}"
        if successor is not None:
            detail += f" It is replaced by edition {successor}."
        raise ProblemError.of_status(
            410,
            "Gone",
            detail,
            id=edition.id,
            reason=edition.withdrawal_reason,
            withdrawn_at=edition.withdrawn_at.isoformat(),
            successor=successor,
        )
    return edition


async def list_editions(
    session: AsyncSession, city_code: str, page: PageParams
) -> Sequence[Edition]:
    """A page of the city's editions, newest first, withdrawn ones included (tombstones)."""
    await get_city(session, city_code)
    return await EditionRepository.from_session(session).for_city(city_code, page)


async def withdraw_edition(
    session: AsyncSession, edition_id: str, payload: WithdrawalCreate
) -> Edition:
    """Withdraw an edition (administrators): its content stays, its reads answer 410."""
    edition = await find_edition(session, edition_id)
    if edition.withdrawn_at is not None:
        raise Conflict(f"Edition {edition.id} is already withdrawn.", id=edition.id)
    repository = EditionRepository.from_session(session)
    if payload.successor is not None:
        successor = await repository.find(payload.successor)
        if successor is None or successor.city_code != edition.city_code:
            raise invalid("successor", f"no edition {payload.successor} of {edition.city_code}")
        if successor.id == edition.id or successor.withdrawn_at is not None:
            raise invalid("successor", "the successor must be another edition, not withdrawn")
    edition.withdrawn_at = datetime.now(UTC)
    edition.withdrawal_reason = payload.reason
    edition.successor_id = payload.successor
    await repository.flush(resource="edition")
    return edition


async def edition_changes(session: AsyncSession, edition_id: str, since: str) -> EditionChanges:
    """What changed from edition ``since`` to ``edition_id``, two editions of one city; a 422
    naming ``since`` when it is unknown or of another city. ``since`` may be withdrawn (what
    changed since a withdrawn edition is what its readers need)."""
    edition = await get_edition(session, edition_id)
    earlier = await EditionRepository.from_session(session).find(since)
    if earlier is None:
        raise invalid("since", f"no edition {since}", location="query")
    if earlier.city_code != edition.city_code:
        raise invalid(
            "since",
            f"{since} is an edition of {earlier.city_code}, not of {edition.city_code}",
            location="query",
        )
    before, after = json.loads(earlier.content), json.loads(edition.content)
    return EditionChanges(
        edition=edition.id,
        since=earlier.id,
        city=edition.city_code,
        values=changes.value_changes(before, after),
        sections=changes.section_changes(before, after),
        challenges=changes.challenge_changes(before, after),
    )


async def edition_citation(
    session: AsyncSession, edition_id: str, *, url: str, languages: Languages
) -> Citation:
    """What a citation of the edition says: its city named in the caller's language, as the
    edition froze the name, and today as the access date."""
    edition = await get_edition(session, edition_id)
    city = json.loads(edition.content)["city"]
    return Citation(
        edition_id=edition.id,
        city=languages.text(city["names"]) or edition.city_code,
        published_at=edition.published_at,
        url=url,
        content_hash=edition.content_hash,
        accessed=datetime.now(UTC).date(),
    )
