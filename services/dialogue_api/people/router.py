from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.people import service
from services.dialogue_api.people.schemas import (
    PersonCreate,
    PersonRead,
    PersonRole,
    PersonUpdate,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.contracts.cities import CITY_CODE_PATTERN
from shared.db import SessionDep
from shared.i18n import LANGUAGE_TAG_PATTERN
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/people", tags=["people"])
PersonId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    summary="List people",
    description="People in order of id. Anonymous callers and viewers see the people who "
    "consented to be listed; editors also see everyone of their cities; admins see everyone. "
    "E-mail addresses are null unless the person consented to be contacted or the caller "
    "manages the person's city.",
    response_model=Page[PersonRead],
)
async def list_people(
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
    city: Annotated[
        str | None, Query(pattern=CITY_CODE_PATTERN, description="The person's city.")
    ] = None,
    role: Annotated[PersonRole | None, Query()] = None,
    language: Annotated[
        str | None,
        Query(
            pattern=LANGUAGE_TAG_PATTERN,
            description="A language the person works in; `pt` also finds `pt-BR`.",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Part of the name, whatever its case."),
    ] = None,
    organisation: Annotated[
        str | None,
        Query(
            min_length=1, max_length=300, description="Part of the organisation, whatever its case."
        ),
    ] = None,
) -> Page[PersonRead]:
    people = await service.list_people(
        session,
        principal,
        page,
        city=city,
        role=role,
        language=language,
        name=q,
        organisation=organisation,
    )
    return build_page(
        people,
        page,
        key=lambda person: [person.id],
        item=lambda person: PersonRead.of(
            person, shows_email=service.shows_email(principal, person)
        ),
    )


@router.post(
    "",
    summary="Record a person",
    description="Admins record anyone; editors record people of their cities.",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonRead,
    responses=problem_responses(401, 403, 409),
)
async def create_person(
    payload: PersonCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> PersonRead:
    person = await service.create_person(session, principal, payload)
    response.headers["Location"] = f"/v1/people/{person.id}"
    return represented(
        response, PersonRead.of(person, shows_email=service.shows_email(principal, person))
    )


@router.get(
    "/{person_id}",
    summary="Get a person",
    description="404 for a person the caller may not see.",
    response_model=PersonRead,
    responses=problem_responses(404),
)
async def get_person(
    person_id: PersonId,
    session: SessionDep,
    principal: MaybePrincipal,
    response: Response,
) -> PersonRead:
    person = await service.get_visible_person(session, principal, person_id)
    return represented(
        response, PersonRead.of(person, shows_email=service.shows_email(principal, person))
    )


@router.patch(
    "/{person_id}",
    summary="Change a person",
    description="Admins and editors of the person's city; a new city must be one the caller "
    "edits too.",
    response_model=PersonRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_person(
    person_id: PersonId,
    payload: PersonUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
) -> PersonRead:
    person = await service.update_person(session, principal, person_id, payload, if_match=if_match)
    return represented(
        response, PersonRead.of(person, shows_email=service.shows_email(principal, person))
    )


@router.delete(
    "/{person_id}",
    summary="Remove a person nothing refers to",
    description="409 while registrations, agenda items, actions or exchanges name the person.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 412),
)
async def delete_person(
    person_id: PersonId,
    session: SessionDep,
    principal: CurrentPrincipal,
    if_match: IfMatchHeader = None,
) -> Response:
    await service.delete_person(session, principal, person_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
