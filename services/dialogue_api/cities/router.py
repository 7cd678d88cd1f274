from __future__ import annotations

from fastapi import APIRouter, Response

from services.dialogue_api.cities import service
from services.dialogue_api.cities.schemas import CityRead
from shared.db import SessionDep
from shared.i18n import LanguagesDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath

router = APIRouter(prefix="/v1/cities", tags=["cities"])


@router.get("", summary="List the cities the dialogue knows", response_model=Page[CityRead])
async def list_cities(
    session: SessionDep, page: PageDep, languages: LanguagesDep
) -> Page[CityRead]:
    cities = await service.list_cities(session, page)
    return build_page(
        cities, page, key=lambda city: [city.code], item=lambda city: CityRead.of(city, languages)
    )


@router.get(
    "/{code}",
    summary="Get a city the dialogue knows",
    response_model=CityRead,
    responses=problem_responses(404),
)
async def get_city(
    code: CityCodePath, session: SessionDep, languages: LanguagesDep, response: Response
) -> CityRead:
    city = CityRead.of(await service.get_city(session, code), languages)
    response.headers["Content-Language"] = city.language
    return city
