"""The dialogue's read model of the network's cities, and the check every write makes of it.

Profiles owns the cities. Its ``city.upserted`` / ``city.deleted`` events reach this model
through the worker (``tasks.py``; ``mc2cm dev`` fills it from the demo data); a write here
never calls profiles. Applying an event is idempotent and ignores events older than what is
stored, so redelivered or reordered events leave the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.cities.models import CityRef as CityRefRow
from services.dialogue_api.cities.repository import CityRefRepository
from shared.contracts.cities import CityRef
from shared.errors import NotFound, ValidationFailed, field_error
from shared.pagination import PageParams


async def apply_city_upserted(
    session: AsyncSession, city: CityRef, *, changed_at: datetime
) -> bool:
    """Store ``city`` as of ``changed_at``; ``False`` when a newer state is already stored."""
    repository = CityRefRepository.from_session(session)
    row = await repository.for_update(city.code)
    if row is None:
        await repository.add(
            CityRefRow(
                code=city.code,
                names=city.names,
                country=city.country,
                region=city.region.value,
                timezone=city.timezone,
                membership_status=city.membership_status.value,
                source_changed_at=changed_at,
            )
        )
        return True
    if row.source_changed_at > changed_at:
        return False
    state = {
        "names": city.names,
        "country": city.country,
        "region": city.region.value,
        "timezone": city.timezone,
        "membership_status": city.membership_status.value,
        "removed_at": None,
    }
    if all(getattr(row, field) == value for field, value in state.items()):
        return False
    for field, value in state.items():
        setattr(row, field, value)
    row.source_changed_at = changed_at
    await repository.flush()
    return True


async def apply_city_deleted(session: AsyncSession, code: str, *, changed_at: datetime) -> bool:
    """Mark ``code`` removed as of ``changed_at`` (kept for what already names it)."""
    repository = CityRefRepository.from_session(session)
    row = await repository.for_update(code)
    if row is None or row.source_changed_at > changed_at:
        return False
    row.removed_at = changed_at
    row.source_changed_at = changed_at
    await repository.flush()
    return True


async def resync_city_refs(
    session: AsyncSession, cities: Sequence[tuple[CityRef, datetime]]
) -> int:
    """Make ``dialogue.city_ref`` agree with ``cities`` (every city of profiles, with when it
    last changed): missed or changed cities upserted, cities gone marked removed. How many
    rows changed."""
    changed = 0
    for city, changed_at in cities:
        changed += await apply_city_upserted(session, city, changed_at=changed_at)
    gone = await CityRefRepository.from_session(session).current_codes_except(
        city.code for city, _ in cities
    )
    now = datetime.now(UTC)
    for code in gone:
        changed += await apply_city_deleted(session, code, changed_at=now)
    return changed


async def list_cities(session: AsyncSession, page: PageParams) -> Sequence[CityRefRow]:
    """A page of the cities the dialogue knows, by code."""
    return await CityRefRepository.from_session(session).listed(page)


async def get_city(session: AsyncSession, code: str) -> CityRefRow:
    """A city the dialogue knows (404 if unknown or removed)."""
    city = await CityRefRepository.from_session(session).get(code)
    if city is None or city.removed_at is not None:
        raise NotFound(f"The network has no city {code}.", code=code)
    return city


async def ensure_known_cities(
    session: AsyncSession, codes_by_field: dict[str, str | Sequence[str] | None]
) -> None:
    """422 naming each field (``host_city``, ``participating_cities.2``) whose city code is
    not a city of the network; ``None`` fields are skipped."""
    located: list[tuple[str, str]] = []
    for field, value in codes_by_field.items():
        if isinstance(value, str):
            located.append((field, value))
        elif value is not None:
            located.extend((f"{field}.{index}", code) for index, code in enumerate(value))
    known = await CityRefRepository.from_session(session).current_codes(c for _, c in located)
    errors = [
        field_error(field, f"{code} is not a city of the network", value=code)
        for field, code in located
        if code not in known
    ]
    if errors:
        raise ValidationFailed("Some city codes are not cities of the network.", errors=errors)
