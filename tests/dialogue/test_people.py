"""People of the dialogue: who may see whom, e-mail consent, who may change whom, removal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.agenda.models import AgendaItem, AgendaSpeaker
from services.dialogue_api.events.models import Event
from services.dialogue_api.people import service
from services.dialogue_api.people.models import Person
from services.dialogue_api.people.repository import PersonRepository
from services.dialogue_api.registrations.models import Registration
from shared.auth import Principal, Role
from shared.errors import NotFound
from tests.dialogue.factories import add_person, create_person, new_person
from tests.factories import Api, assert_problem, error_fields

LISBON_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTLIS",)}
TUNIS_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("TNTUN",)}
#: Every kind of caller the visibility rules tell apart, for a person of Lisbon.
CALLERS: dict[str, dict[str, Any]] = {
    "anonymous": {},
    "viewer": {"role": Api.VIEWER},
    "editor of Lisbon": LISBON_EDITOR,
    "editor of Tunis": TUNIS_EDITOR,
    "admin": {"role": Api.ADMIN},
}


def marker() -> str:
    """A word only this test's people have in their name, to list them among the demo's."""
    return f"zq{uuid.uuid4().hex[:10]}"


async def listed_ids(dialogue: Api, query: str = "", **caller: Any) -> list[int]:
    response = await dialogue.get(f"/v1/people?limit=100{query}", **caller)
    assert response.status_code == 200, response.text
    return [person["id"] for person in response.json()["items"]]


async def patch(dialogue: Api, person: dict[str, Any], json: dict[str, Any], **caller: Any) -> Any:
    caller.setdefault("role", Api.ADMIN)
    return await dialogue.patch(
        f"/v1/people/{person['id']}",
        headers={"If-Match": f'"{person["version"]}"'},
        json=json,
        **caller,
    )


# Recording


async def test_admin_records_a_person_with_location_and_etag(dialogue: Api) -> None:
    body = new_person(consent_listed=False, consent_contact=False, languages=["pt-BR", "en"])
    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=body)

    assert response.status_code == 201, response.text
    person = response.json()
    assert response.headers["Location"] == f"/v1/people/{person['id']}"
    assert response.headers["ETag"] == '"1"'
    assert person["city"] == "PTLIS" and "city_code" not in person, person
    assert person["email"] == body["email"], person
    assert person["languages"] == ["pt-BR", "en"]
    assert (person["consent_listed"], person["consent_contact"]) == (False, False)


async def test_consents_default_to_no(dialogue: Api) -> None:
    body = new_person()
    del body["consent_listed"], body["consent_contact"]

    person = (await dialogue.post("/v1/people", role=Api.ADMIN, json=body)).json()

    assert (person["consent_listed"], person["consent_contact"]) == (False, False), person


async def test_editor_records_a_person_of_their_city(dialogue: Api) -> None:
    response = await dialogue.post("/v1/people", json=new_person(city="PTLIS"), **LISBON_EDITOR)

    assert response.status_code == 201, response.text


async def test_editor_cannot_record_a_person_of_another_city(dialogue: Api) -> None:
    response = await dialogue.post("/v1/people", json=new_person(city="TNTUN"), **LISBON_EDITOR)

    assert assert_problem(response, 403)["city"] == "TNTUN"


async def test_only_admins_record_people_of_no_city(dialogue: Api) -> None:
    body = new_person(city=None, role="expert")
    refused = await dialogue.post("/v1/people", json=body, **LISBON_EDITOR)
    accepted = await dialogue.post("/v1/people", role=Api.ADMIN, json=body)

    assert_problem(refused, 403)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["city"] is None


async def test_viewer_and_anonymous_cannot_record_people(dialogue: Api) -> None:
    assert_problem(await dialogue.post("/v1/people", role=Api.VIEWER, json=new_person()), 403)
    assert_problem(await dialogue.post("/v1/people", json=new_person()), 401)


async def test_an_email_taken_in_another_case_is_a_conflict_naming_email(dialogue: Api) -> None:
    first = await create_person(dialogue, email=f"Ana.{uuid.uuid4().hex[:8]}@Example.org")
    response = await dialogue.post(
        "/v1/people", role=Api.ADMIN, json=new_person(email=first["email"].upper())
    )

    problem = assert_problem(response, 409)
    assert error_fields(problem) == {"email"}, problem
    assert first["email"].split("@")[0].startswith("Ana."), "the case given is kept"


async def test_concurrent_duplicate_caught_by_the_unique_index_is_a_conflict_naming_email(
    dialogue: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await create_person(dialogue)

    async def nobody_has_it(*args: Any, **kwargs: Any) -> bool:
        return False  # as for a writer whose look-up ran before the other's insert

    monkeypatch.setattr(PersonRepository, "email_taken", nobody_has_it)
    response = await dialogue.post(
        "/v1/people", role=Api.ADMIN, json=new_person(email=first["email"].upper())
    )

    assert error_fields(assert_problem(response, 409)) == {"email"}
    assert (await dialogue.get(f"/v1/people/{first['id']}")).status_code == 200


@pytest.mark.parametrize("email", ["not-an-address", "ana@", "ana@localhost", ""])
async def test_an_invalid_email_is_refused_naming_email(dialogue: Api, email: str) -> None:
    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=new_person(email=email))

    assert error_fields(assert_problem(response, 422)) == {"email"}, email


async def test_an_unknown_city_is_refused_naming_city(dialogue: Api) -> None:
    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=new_person(city="GRATH"))

    assert error_fields(assert_problem(response, 422)) == {"city"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"languages": ["en", "en-GB", "english"]}, {"languages.2"}),
        ({"languages": ["pt-BR", "pt-br"]}, {"languages"}),
        ({"role": "king"}, {"role"}),
        ({"name": "   "}, {"name"}),
        ({"city": "lisbon"}, {"city"}),
        ({"nickname": "Ana"}, {"nickname"}),
    ],
)
async def test_invalid_fields_are_refused_naming_them(
    dialogue: Api, fields: dict[str, Any], named: set[str]
) -> None:
    response = await dialogue.post("/v1/people", role=Api.ADMIN, json=new_person(**fields))

    assert error_fields(assert_problem(response, 422)) == named, fields


# Reading one


async def test_a_person_reads_with_an_etag(dialogue: Api) -> None:
    person = await create_person(dialogue)
    response = await dialogue.get(f"/v1/people/{person['id']}")

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert response.json()["name"] == "Ana Ferreira"


async def test_unknown_person_is_404(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/people/999999999", role=Api.ADMIN), 404)


async def test_an_unlisted_person_exists_only_for_admins_and_editors_of_their_city(
    dialogue: Api, session: AsyncSession
) -> None:
    unlisted = await add_person(session, "PTLIS", listed=False)
    statuses = {
        caller: (await dialogue.get(f"/v1/people/{unlisted.id}", **headers)).status_code
        for caller, headers in CALLERS.items()
    }

    assert statuses == {
        "anonymous": 404,
        "viewer": 404,
        "editor of Lisbon": 200,
        "editor of Tunis": 404,
        "admin": 200,
    }, statuses


async def test_email_is_shown_only_with_consent_or_to_who_manages_the_city(
    dialogue: Api, session: AsyncSession
) -> None:
    quiet = await add_person(session, "PTLIS", listed=True, contactable=False)
    open_ = await add_person(session, "PTLIS", listed=True, contactable=True)

    async def email(person: Person, headers: dict[str, Any]) -> str | None:
        found: str | None = (await dialogue.get(f"/v1/people/{person.id}", **headers)).json()[
            "email"
        ]
        return found

    quiet_seen = {caller: await email(quiet, headers) for caller, headers in CALLERS.items()}
    open_seen = {caller: await email(open_, headers) for caller, headers in CALLERS.items()}

    assert quiet_seen == {
        "anonymous": None,
        "viewer": None,
        "editor of Lisbon": quiet.email,
        "editor of Tunis": None,
        "admin": quiet.email,
    }, quiet_seen
    assert set(open_seen.values()) == {open_.email}, open_seen


# Listing


async def test_each_caller_lists_only_the_people_they_may_see(
    dialogue: Api, session: AsyncSession
) -> None:
    word = marker()
    listed = await add_person(session, "PTLIS", name=f"{word} listed")
    lisbon = await add_person(session, "PTLIS", listed=False, name=f"{word} Lisbon")
    tunis = await add_person(session, "TNTUN", listed=False, name=f"{word} Tunis")
    seen = {
        caller: await listed_ids(dialogue, f"&q={word}", **headers)
        for caller, headers in CALLERS.items()
    }

    assert seen == {
        "anonymous": [listed.id],
        "viewer": [listed.id],
        "editor of Lisbon": [listed.id, lisbon.id],
        "editor of Tunis": [listed.id, tunis.id],
        "admin": [listed.id, lisbon.id, tunis.id],
    }, seen


async def test_pages_are_full_of_visible_people_however_many_are_hidden(
    dialogue: Api, session: AsyncSession
) -> None:
    word = marker()
    people = [
        await add_person(session, "PTLIS", listed=listed, name=f"{word} {number}")
        for number, listed in enumerate((True, False, False, True, False, True, False))
    ]
    visible = [person.id for person in people if person.consent_listed]
    pages: list[list[int]] = []
    cursor = ""
    while True:
        response = await dialogue.get(f"/v1/people?limit=1&q={word}{cursor}")
        assert response.status_code == 200, response.text
        pages.append([person["id"] for person in response.json()["items"]])
        if response.json()["next_cursor"] is None:
            break
        cursor = f"&cursor={response.json()['next_cursor']}"

    assert pages == [[person_id] for person_id in visible], pages


async def test_list_shows_emails_only_with_consent(dialogue: Api, session: AsyncSession) -> None:
    word = marker()
    quiet = await add_person(session, "PTLIS", contactable=False, name=f"{word} quiet")
    open_ = await add_person(session, "PTLIS", contactable=True, name=f"{word} open")

    anonymous = (await dialogue.get(f"/v1/people?q={word}")).json()["items"]
    editor = (await dialogue.get(f"/v1/people?q={word}", **LISBON_EDITOR)).json()["items"]

    assert [p["email"] for p in anonymous] == [None, open_.email], anonymous
    assert [p["email"] for p in editor] == [quiet.email, open_.email], editor


async def test_list_filters_by_city_role_language_and_organisation(dialogue: Api) -> None:
    word = marker()
    lisbon = await create_person(
        dialogue, name=f"{word} A", languages=["pt-BR"], organisation="Câmara de Lisboa"
    )
    tunis = await create_person(
        dialogue,
        name=f"{word} B",
        city="TNTUN",
        role="mayor",
        languages=["ar", "fr"],
        organisation="Municipalité de Tunis",
    )
    query = f"&q={word}"

    assert await listed_ids(dialogue, f"{query}&city=TNTUN") == [tunis["id"]]
    assert await listed_ids(dialogue, f"{query}&role=mayor") == [tunis["id"]]
    assert await listed_ids(dialogue, f"{query}&language=fr") == [tunis["id"]]
    assert await listed_ids(dialogue, f"{query}&language=pt") == [lisbon["id"]], "pt finds pt-BR"
    assert await listed_ids(dialogue, f"{query}&language=pt-PT") == []
    assert await listed_ids(dialogue, f"{query}&organisation=LISBOA") == [lisbon["id"]]
    assert await listed_ids(dialogue, f"{query}&city=ESMAD") == []


async def test_name_search_ignores_case_and_takes_wildcards_literally(dialogue: Api) -> None:
    word = marker()
    percent = await create_person(dialogue, name=f"{word} 50% Ana_Maria")
    other = await create_person(dialogue, name=f"{word} 500 AnaXMaria")

    assert await listed_ids(dialogue, f"&q={word.upper()}") == [percent["id"], other["id"]]
    assert await listed_ids(dialogue, f"&q={word}%2050%25") == [percent["id"]]
    assert await listed_ids(dialogue, f"&q={word}%20%25") == []
    assert await listed_ids(dialogue, "&q=Ana_Maria") == [percent["id"]]


@pytest.mark.parametrize(
    ("query", "named"),
    [("city=lisbon", "city"), ("role=king", "role"), ("language=English", "language")],
)
async def test_invalid_filters_are_refused_naming_them(
    dialogue: Api, query: str, named: str
) -> None:
    problem = assert_problem(await dialogue.get(f"/v1/people?{query}"), 422)

    assert error_fields(problem) == {named}, problem


# Changing


async def test_patch_needs_if_match_and_refuses_a_stale_one(dialogue: Api) -> None:
    person = await create_person(dialogue)
    url = f"/v1/people/{person['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"name": "Ana F."})
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"7"'}, json={"name": "Ana F."}
    )

    assert_problem(missing, 428)
    assert assert_problem(stale, 412)["current_etag"] == '"1"'
    assert (await dialogue.get(url)).json()["name"] == "Ana Ferreira"


async def test_editor_changes_a_person_of_their_city(dialogue: Api) -> None:
    person = await create_person(dialogue)
    response = await patch(
        dialogue,
        person,
        {"role": "mayor", "organisation": None, "languages": ["pt"]},
        **LISBON_EDITOR,
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    changed = response.json()
    assert (changed["role"], changed["organisation"], changed["languages"]) == (
        "mayor",
        None,
        ["pt"],
    ), changed


async def test_fields_that_cannot_be_cleared_refuse_null(dialogue: Api) -> None:
    person = await create_person(dialogue)
    response = await patch(dialogue, person, {"name": None, "email": None})

    assert error_fields(assert_problem(response, 422)) == {"name", "email"}


async def test_editor_cannot_change_a_person_of_another_city(
    dialogue: Api, session: AsyncSession
) -> None:
    listed = await create_person(dialogue, city="TNTUN")
    unlisted = await add_person(session, "TNTUN", listed=False)

    forbidden = await patch(dialogue, listed, {"name": "X"}, **LISBON_EDITOR)
    hidden = await dialogue.patch(
        f"/v1/people/{unlisted.id}",
        headers={"If-Match": '"1"'},
        json={"name": "X"},
        **LISBON_EDITOR,
    )

    assert_problem(forbidden, 403)
    assert_problem(hidden, 404)


async def test_editor_cannot_move_a_person_out_of_their_city(dialogue: Api) -> None:
    person = await create_person(dialogue, city="PTLIS")

    elsewhere = await patch(dialogue, person, {"city": "TNTUN"}, **LISBON_EDITOR)
    nowhere = await patch(dialogue, person, {"city": None}, **LISBON_EDITOR)

    assert assert_problem(elsewhere, 403)["city"] == "TNTUN"
    assert_problem(nowhere, 403)
    assert (await dialogue.get(f"/v1/people/{person['id']}")).json()["city"] == "PTLIS"


async def test_editor_cannot_move_a_person_of_another_city_into_theirs(dialogue: Api) -> None:
    person = await create_person(dialogue, city="TNTUN")

    response = await patch(dialogue, person, {"city": "PTLIS"}, **LISBON_EDITOR)

    assert assert_problem(response, 403)["city"] == "TNTUN"


async def test_editor_of_both_cities_and_admins_move_people(dialogue: Api) -> None:
    person = await create_person(dialogue, city="TNTUN")

    moved = await patch(
        dialogue, person, {"city": "PTLIS"}, role=Api.EDITOR, cities=("PTLIS", "TNTUN")
    )
    cleared = await patch(dialogue, moved.json(), {"city": None})

    assert moved.status_code == 200 and moved.json()["city"] == "PTLIS", moved.text
    assert cleared.status_code == 200 and cleared.json()["city"] is None, cleared.text


async def test_moving_to_an_unknown_city_is_refused_naming_city(dialogue: Api) -> None:
    person = await create_person(dialogue)

    response = await patch(dialogue, person, {"city": "GRATH"})

    assert error_fields(assert_problem(response, 422)) == {"city"}


async def test_patch_to_an_email_taken_in_another_case_is_a_conflict_naming_email(
    dialogue: Api,
) -> None:
    first = await create_person(dialogue)
    second = await create_person(dialogue)

    taken = await patch(dialogue, second, {"email": first["email"].upper()})
    own = await patch(dialogue, first, {"email": first["email"].capitalize()})

    assert error_fields(assert_problem(taken, 409)) == {"email"}
    assert own.status_code == 200, "a person may change the case of their own address"
    assert own.json()["email"] == first["email"].capitalize()


async def test_viewer_and_anonymous_cannot_change_people(dialogue: Api) -> None:
    person = await create_person(dialogue)
    url = f"/v1/people/{person['id']}"

    assert_problem(await patch(dialogue, person, {"name": "X"}, role=Api.VIEWER), 403)
    assert_problem(await dialogue.patch(url, headers={"If-Match": '"1"'}, json={"name": "X"}), 401)


async def test_changing_an_unknown_person_is_404(dialogue: Api) -> None:
    response = await patch(dialogue, {"id": 999999999, "version": 1}, {"name": "X"})

    assert_problem(response, 404)


# Removing


async def test_editor_removes_a_person_of_their_city(dialogue: Api) -> None:
    person = await create_person(dialogue)
    url = f"/v1/people/{person['id']}"

    response = await dialogue.delete(url, headers={"If-Match": '"1"'}, **LISBON_EDITOR)

    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(url, role=Api.ADMIN), 404)


async def test_who_may_not_remove_a_person_is_refused(dialogue: Api, session: AsyncSession) -> None:
    person = await create_person(dialogue)
    unlisted = await add_person(session, "PTLIS", listed=False)
    url = f"/v1/people/{person['id']}"

    assert_problem(await dialogue.delete(url), 401)
    assert_problem(await dialogue.delete(url, role=Api.VIEWER), 403)
    assert_problem(await dialogue.delete(url, **TUNIS_EDITOR), 403)
    assert_problem(await dialogue.delete(f"/v1/people/{unlisted.id}", **TUNIS_EDITOR), 404)
    assert_problem(await dialogue.delete("/v1/people/999999999", role=Api.ADMIN), 404)
    assert (await dialogue.get(url)).status_code == 200


async def test_removing_with_a_stale_if_match_is_refused(dialogue: Api) -> None:
    person = await create_person(dialogue)

    response = await dialogue.delete(
        f"/v1/people/{person['id']}", role=Api.ADMIN, headers={"If-Match": '"9"'}
    )

    assert_problem(response, 412)


async def test_a_person_still_named_elsewhere_cannot_be_removed(
    dialogue: Api, session: AsyncSession
) -> None:
    person = await create_person(dialogue)
    event = Event(
        type="technical_meeting",
        title={"en": "Technical meeting"},
        host_city_code="PTLIS",
        starts_at=datetime(2027, 3, 10, 9, tzinfo=UTC),
        ends_at=datetime(2027, 3, 10, 17, tzinfo=UTC),
        timezone="Europe/Lisbon",
    )
    session.add(event)
    await session.flush()
    item = AgendaItem(
        event_id=event.id,
        starts_at=datetime(2027, 3, 10, 9, tzinfo=UTC),
        ends_at=datetime(2027, 3, 10, 10, tzinfo=UTC),
        title={"en": "Opening"},
    )
    session.add_all(
        [item, Registration(event_id=event.id, person_id=person["id"], status="invited")]
    )
    await session.flush()
    session.add(AgendaSpeaker(agenda_item_id=item.id, person_id=person["id"], position=0))
    await session.flush()

    response = await dialogue.delete(f"/v1/people/{person['id']}", role=Api.ADMIN)

    problem = assert_problem(response, 409)
    assert problem["dependent"] == ["registrations", "agenda_speakers"], problem
    assert (await dialogue.get(f"/v1/people/{person['id']}")).status_code == 200


# For other domains


async def test_summaries_leave_out_people_the_caller_may_not_see(session: AsyncSession) -> None:
    listed = await add_person(session, "PTLIS", contactable=False, name="Listed")
    unlisted = await add_person(session, "TNTUN", listed=False, name="Unlisted")
    ids = [listed.id, unlisted.id, 999999999]
    tunis = Principal(subject="t@test", role=Role.editor, cities=frozenset({"TNTUN"}))

    anonymous = await service.visible_person_summaries(session, None, ids)
    editor = await service.visible_person_summaries(session, tunis, ids)

    assert set(anonymous) == {listed.id}, anonymous
    assert anonymous[listed.id].email is None and anonymous[listed.id].city == "PTLIS"
    assert set(editor) == {listed.id, unlisted.id}, editor
    assert editor[unlisted.id].email == unlisted.email, "editors of the city see the address"
    assert await service.visible_person_summaries(session, None, []) == {}


async def test_get_person_finds_anyone_and_404s_for_nobody(session: AsyncSession) -> None:
    unlisted = await add_person(session, "TNTUN", listed=False)

    assert (await service.get_person(session, unlisted.id)).id == unlisted.id
    with pytest.raises(NotFound):
        await service.get_person(session, 999999999)
