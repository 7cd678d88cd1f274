from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.dialogue_api.registrations import service
from services.dialogue_api.registrations.schemas import (
    RegistrationCreate,
    RegistrationRead,
    RegistrationStatus,
    RegistrationUpdate,
)
from shared.auth import CurrentPrincipal, MaybePrincipal
from shared.concurrency import IfMatchHeader, represented
from shared.db import SessionDep
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(prefix="/v1/events/{event_id}/registrations", tags=["registrations"])
EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RegistrationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _read(seen: service.SeenRegistration) -> RegistrationRead:
    return RegistrationRead.of(
        seen.registration,
        seen.person,
        waitlist_position=seen.waitlist_position,
        sees_note=seen.sees_note,
    )


@router.get(
    "",
    summary="List an event's registrations",
    description="Registrations by id. People who did not consent to be listed appear only to "
    "administrators and editors of their city; anonymous callers see public events only.",
    response_model=Page[RegistrationRead],
    responses=problem_responses(404),
)
async def list_registrations(
    event_id: EventId,
    session: SessionDep,
    page: PageDep,
    principal: MaybePrincipal,
    status: Annotated[
        list[RegistrationStatus] | None, Query(description="One or more statuses.")
    ] = None,
) -> Page[RegistrationRead]:
    found = await service.list_registrations(
        session, principal, event_id, page, statuses=[s.value for s in status or ()]
    )
    return build_page(found, page, key=lambda seen: [seen.registration.id], item=_read)


@router.post(
    "",
    summary="Invite or register a person",
    description="`registered` becomes `waitlisted` when the event is full. Registering is for "
    "administrators and editors of the person's city, inviting also for editors of the host "
    "city.",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def create_registration(
    event_id: EventId,
    payload: RegistrationCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> RegistrationRead:
    seen = await service.create_registration(session, principal, event_id, payload)
    response.headers["Location"] = f"/v1/events/{event_id}/registrations/{seen.registration.id}"
    return represented(response, _read(seen))


@router.get(
    "/{registration_id}",
    summary="Get a registration",
    response_model=RegistrationRead,
    responses=problem_responses(404),
)
async def get_registration(
    event_id: EventId,
    registration_id: RegistrationId,
    session: SessionDep,
    principal: MaybePrincipal,
    response: Response,
) -> RegistrationRead:
    seen = await service.get_registration(session, principal, event_id, registration_id)
    return represented(response, _read(seen))


@router.patch(
    "/{registration_id}",
    summary="Change a registration's status or needs",
    description="Cancelling or declining a place gives it to the first person waiting. "
    "Attendance is recorded by the host city once the event has started.",
    response_model=RegistrationRead,
    responses=problem_responses(401, 403, 404, 409, 412, 428),
)
async def update_registration(
    event_id: EventId,
    registration_id: RegistrationId,
    payload: RegistrationUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatchHeader = None,
) -> RegistrationRead:
    seen = await service.update_registration(
        session, principal, event_id, registration_id, payload, if_match=if_match
    )
    return represented(response, _read(seen))
