from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.profiles_api.cities import service
from services.profiles_api.cities.schemas import CityCreate, CityRead, CityUpdate
from shared.auth import AdminPrincipal, CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import MembershipStatus, Region
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities", tags=["cities"])


@router.get("", summary="List the network's cities", response_model=Page[CityRead])
async def list_cities(
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    membership: Annotated[MembershipStatus | None, Query()] = None,
    region: Annotated[Region | None, Query()] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
) -> Page[CityRead]:
    cities = await service.list_cities(
        session, page, membership=membership, region=region, country=country
    )
    return build_page(
        cities,
        page,
        key=lambda city: [city.code],
        item=lambda city: CityRead.of(city, languages, show_contacts=principal is not None),
    )


@router.post(
    "",
    summary="Add a city to the network",
    status_code=status.HTTP_201_CREATED,
    response_model=CityRead,
    responses=problem_responses(401, 403, 409),
)
async def create_city(
    payload: CityCreate,
    session: SessionDep,
    principal: AdminPrincipal,
    languages: LanguagesDep,
    response: Response,
) -> CityRead:
    city = await service.create_city(session, principal, payload)
    response.headers["Location"] = f"{router.prefix}/{city.code}"
    return represented(response, CityRead.of(city, languages, show_contacts=True))


@router.get(
    "/{code}",
    summary="Get a city",
    response_model=CityRead,
    responses=problem_responses(404),
)
async def get_city(
    code: CityCodePath,
    session: SessionDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    response: Response,
) -> CityRead:
    city = await service.get_city(session, code)
    return represented(response, CityRead.of(city, languages, show_contacts=principal is not None))


@router.patch(
    "/{code}",
    summary="Change a city",
    description="Editors of the city may change its names, location, timezone and focal "
    "points; country, region and membership are for network administrators. Send `If-Match`.",
    response_model=CityRead,
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def update_city(
    code: CityCodePath,
    payload: CityUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    languages: LanguagesDep,
    response: Response,
    if_match: IfMatchHeader = None,
) -> CityRead:
    city = await service.update_city(session, principal, code, payload, if_match=if_match)
    return represented(response, CityRead.of(city, languages, show_contacts=True))


@router.delete(
    "/{code}",
    summary="Remove a city that holds no data",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_city(
    code: CityCodePath,
    session: SessionDep,
    principal: AdminPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_city(session, principal, code, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
