from __future__ import annotations

import enum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from services.profiles_api.cities import service
from services.profiles_api.cities.geojson import GEOJSON_MEDIA_TYPE, feature_collection
from services.profiles_api.cities.schemas import CityCreate, CityRead, CityUpdate
from shared.auth import AdminPrincipal, CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import MembershipStatus, Region
from shared.db import SessionDep
from shared.errors import invalid
from shared.i18n import LanguagesDep
from shared.negotiation import preferred_media_type
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities", tags=["cities"])


class CitiesFormat(enum.StrEnum):
    json = "json"
    geojson = "geojson"


_MEDIA_TYPES = {"application/json": CitiesFormat.json, GEOJSON_MEDIA_TYPE: CitiesFormat.geojson}
_GEOJSON_EXAMPLE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "PTLIS",
            "geometry": {"type": "Point", "coordinates": [-9.1393, 38.7223]},
            "properties": {
                "code": "PTLIS",
                "name": "Lisbon",
                "names": {"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa"},
                "country": "PT",
                "region": "europe",
                "membership": "confirmed",
                "membership_since": None,
                "indicator": "foreign_nationals",
                "unit": "persons",
                "value": 135753,
                "period": "2022",
                "source": "Relatório de Imigração, Fronteiras e Asilo",
            },
        }
    ],
}


@router.get(
    "",
    summary="List the network's cities",
    description="**GeoJSON** (RFC 7946): `format=geojson`, or `Accept: application/geo+json`, "
    "answers every matching city at once (no pages: `limit` and `cursor` are refused) as a "
    "FeatureCollection: a `Point` at `[longitude, latitude]` per city (a null geometry when "
    "its location is unknown) with its code, names, country, region and membership. With "
    "`indicator`, each city's latest preferred total of it is added (`value`, `unit`, "
    "`period`, `source`…), as `/v1/compare` reads it.",
    response_model=Page[CityRead],
    responses={
        200: {
            "description": "A page of cities, or (`format=geojson`) a GeoJSON FeatureCollection.",
            "content": {
                GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}, "example": _GEOJSON_EXAMPLE}
            },
        },
        **problem_responses(),
    },
)
async def list_cities(
    request: Request,
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
    languages: LanguagesDep,
    membership: Annotated[MembershipStatus | None, Query()] = None,
    region: Annotated[Region | None, Query()] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    indicator: Annotated[
        str | None,
        Query(
            max_length=64,
            description="With GeoJSON: add each city's latest preferred total of this "
            "indicator. Only with `format=geojson` (422 otherwise).",
        ),
    ] = None,
    output_format: Annotated[
        CitiesFormat | None,
        Query(alias="format", description="`geojson` for a map; wins over `Accept`."),
    ] = None,
) -> Page[CityRead] | Response:
    if output_format is None:
        accept = request.headers.get("accept")
        output_format = _MEDIA_TYPES[preferred_media_type(accept, list(_MEDIA_TYPES))]
    if output_format is CitiesFormat.geojson:
        for parameter in ("limit", "cursor"):
            if parameter in request.query_params:
                raise invalid(
                    parameter,
                    "the map holds every matching city: drop limit and cursor",
                    location="query",
                )
        cities = await service.all_cities(
            session, membership=membership, region=region, country=country
        )
        try:
            collection = await feature_collection(session, cities, languages, indicator=indicator)
        except LookupError as problem:
            raise invalid("indicator", str(problem), location="query") from problem
        return JSONResponse(
            collection,
            media_type=GEOJSON_MEDIA_TYPE,
            headers={"Vary": "Accept, Accept-Language, Authorization"},
        )
    if indicator is not None:
        raise invalid(
            "indicator",
            "figures are added to the GeoJSON answer only: add format=geojson",
            location="query",
        )
    cities_page = await service.list_cities(
        session, page, membership=membership, region=region, country=country
    )
    return build_page(
        cities_page,
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
