"""Cities of the network: the only writer of ``profiles.city`` and its ``city.*`` events."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.models import City
from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.cities.schemas import CityCreate, CityUpdate, Membership
from services.profiles_api.db import events
from shared.auth import Principal, ensure_city_editor
from shared.concurrency import check_if_match
from shared.contracts.cities import CityRef, MembershipStatus, Region
from shared.contracts.events import CityDeleted, CityUpserted
from shared.errors import Conflict, Forbidden, NotFound
from shared.pagination import PageParams

# Fields that change the city's place in the network: network administrators only.
_ADMIN_FIELDS = frozenset({"country", "region", "membership"})


def city_ref(city: City) -> CityRef:
    """The contract other services keep of a city."""
    return CityRef(
        code=city.code,
        names=city.names,
        country=city.country,
        region=Region(city.region),
        timezone=city.timezone,
        membership_status=MembershipStatus(city.membership_status),
    )


async def city_refs(session: AsyncSession) -> list[tuple[CityRef, datetime]]:
    """Every city as the contract other services keep, with when it last changed (for a full
    resynchronisation of their read models)."""
    cities = await CityRepository.from_session(session).all()
    return [(city_ref(city), city.updated_at) for city in cities]


async def list_cities(
    session: AsyncSession,
    page: PageParams,
    *,
    membership: MembershipStatus | None = None,
    region: Region | None = None,
    country: str | None = None,
) -> Sequence[City]:
    """A page of the network's cities, by code, optionally of one membership, region or country."""
    return await CityRepository.from_session(session).search(
        page, membership=membership, region=region, country=country
    )


async def all_cities(
    session: AsyncSession,
    *,
    membership: MembershipStatus | None = None,
    region: Region | None = None,
    country: str | None = None,
) -> list[City]:
    """Every city of the network (a few dozen), by code, optionally of one membership,
    region or country: for the map, which shows them all at once."""
    return [
        city
        for city in await CityRepository.from_session(session).all()
        if (membership is None or city.membership_status == membership)
        and (region is None or city.region == region)
        and (country is None or city.country == country)
    ]


async def get_city(session: AsyncSession, code: str) -> City:
    """The city with ``code``, or 404."""
    city = await CityRepository.from_session(session).get(code)
    if city is None:
        raise NotFound(f"No city with code {code}.", code=code)
    return city


async def create_city(session: AsyncSession, principal: Principal, payload: CityCreate) -> City:
    """Add a city to the network (admins only) and announce it."""
    repository = CityRepository.from_session(session)
    if await repository.get(payload.code) is not None:
        raise Conflict(f"City {payload.code} already exists.", code=payload.code)
    city = City(
        code=payload.code,
        names=payload.names,
        country=payload.country,
        region=payload.region.value,
        latitude=payload.latitude,
        longitude=payload.longitude,
        timezone=payload.timezone,
        membership_status=payload.membership.status.value,
        membership_since=payload.membership.since,
        focal_points=[fp.model_dump(mode="json") for fp in payload.focal_points],
    )
    await repository.add(city)
    await session.refresh(city)
    await events.add(session, CityUpserted(city=city_ref(city)), actor=principal.subject)
    return city


async def update_city(
    session: AsyncSession,
    principal: Principal,
    code: str,
    payload: CityUpdate,
    *,
    if_match: str | None,
) -> City:
    """Change a city's fields; editors of the city may change its names, place and contacts."""
    city = await get_city(session, code)
    ensure_city_editor(principal, code)
    changes = payload.changes()
    if not principal.is_admin and (restricted := sorted(_ADMIN_FIELDS & changes.keys())):
        raise Forbidden(
            f"Only network administrators may change {', '.join(restricted)}.", fields=restricted
        )
    check_if_match(if_match, city.version, resource="city")
    for field, value in changes.items():
        if isinstance(value, Membership):
            city.membership_status, city.membership_since = value.status, value.since
        elif field == "focal_points":
            city.focal_points = [point.model_dump(mode="json") for point in value]
        else:
            setattr(city, field, value.value if isinstance(value, enum.Enum) else value)
    if await CityRepository.from_session(session).save_changes(city, resource="city"):
        await events.add(session, CityUpserted(city=city_ref(city)), actor=principal.subject)
    return city


async def delete_city(
    session: AsyncSession, principal: Principal, code: str, *, if_match: str | None
) -> None:
    """Remove a city that holds no data (admins only) and announce it."""
    city = await get_city(session, code)
    check_if_match(if_match, city.version, resource="city", required=False)
    repository = CityRepository.from_session(session)
    if dependent := await repository.dependent_kinds(code):
        raise Conflict(
            f"City {code} still has {', '.join(dependent)}; remove them first.",
            code=code,
            dependent=dependent,
        )
    await repository.delete(city)
    await events.add(session, CityDeleted(code=code), actor=principal.subject)
