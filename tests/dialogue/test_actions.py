"""Actions on recommendations: commitments of cities, overdue in their timezone, progress
updates that move the status, visibility of actions and owners, outbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import Date, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.actions.models import ProgressUpdate
from services.dialogue_api.cities.models import CityRef
from shared.auth import Role
from tests.dialogue.factories import (
    add_person,
    create_action,
    create_event,
    create_recommendation,
    dialogue_outbox_position,
    dialogue_outbox_since,
    new_action,
)
from tests.factories import Api, assert_problem, error_fields


async def a_recommendation(
    dialogue: Api, *, public: bool = True, target_cities: list[str] | None = None
) -> int:
    """A recommendation of a (public unless told) event hosted by Tunis, targeting Tunis and
    Amman unless told otherwise; its id."""
    event = await create_event(dialogue, public=public)
    recommendation = await create_recommendation(
        dialogue,
        event["id"],
        target_cities=["TNTUN", "JOAMM"] if target_cities is None else target_cities,
    )
    return int(recommendation["id"])


async def city_today(session: AsyncSession, timezone: str) -> date:
    """Today in ``timezone`` as the database sees it in this test's transaction."""
    today = await session.scalar(select(cast(func.timezone(timezone, func.now()), Date)))
    assert isinstance(today, date)
    return today


async def listed(dialogue: Api, query: str = "", **kwargs: Any) -> list[dict[str, Any]]:
    response = await dialogue.get(f"/v1/actions?limit=100{query}", **kwargs)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def ids(dialogue: Api, query: str = "", **kwargs: Any) -> list[int]:
    return [action["id"] for action in await listed(dialogue, query, **kwargs)]


async def patch(
    dialogue: Api, action: dict[str, Any], body: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    """PATCH the action with the ETag it was read with (as an administrator unless told)."""
    kwargs.setdefault("role", Api.ADMIN)
    return await dialogue.patch(
        f"/v1/actions/{action['id']}",
        json=body,
        headers={"If-Match": f'"{action["version"]}"'},
        **kwargs,
    )


async def report(
    dialogue: Api, action_id: int, role: Role | None = Api.ADMIN, **body: Any
) -> httpx.Response:
    """A progress update on the action (text given unless told)."""
    body.setdefault("text", {"en": "Work goes on."})
    return await dialogue.post(f"/v1/actions/{action_id}/updates", role=role, json=body)


# Recording


async def test_admin_records_an_action_with_its_owner(dialogue: Api, session: AsyncSession) -> None:
    recommendation = await a_recommendation(dialogue)
    owner = await add_person(session, "TNTUN", name="Amira Ben Salah")

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.ADMIN,
        json=new_action(owner=owner.id),
    )

    assert response.status_code == 201, response.text
    action = response.json()
    assert response.headers["Location"] == f"/v1/actions/{action['id']}"
    assert response.headers["ETag"] == '"1"'
    assert action["recommendation"] == recommendation
    assert action["city"] == "TNTUN"
    assert action["owner"]["id"] == owner.id and action["owner"]["name"] == "Amira Ben Salah"
    assert action["title"] == "Open the newcomers' reception desk"
    assert action["due_on"] == "2027-06-30"
    assert action["status"] == "planned"
    assert action["overdue"] is False
    assert action["latest_progress"] is None
    assert action["version"] == 1


async def test_title_follows_accept_language(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))

    response = await dialogue.get(f"/v1/actions/{action['id']}", headers={"Accept-Language": "fr"})

    assert response.json()["title"] == "Ouvrir le guichet d'accueil des nouveaux arrivants"
    assert response.json()["language"] == "fr"
    assert response.headers["Content-Language"] == "fr"


async def test_editor_of_the_action_city_records_it_even_on_a_private_event(
    dialogue: Api,
) -> None:
    recommendation = await a_recommendation(dialogue, public=False)

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.EDITOR,
        cities=("JOAMM",),
        json=new_action(city="JOAMM"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["city"] == "JOAMM"


async def test_editor_of_lisbon_cannot_record_an_action_of_tunis(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.EDITOR,
        cities=("PTLIS",),
        json=new_action(city="TNTUN"),
    )

    assert_problem(response, 403)


async def test_viewers_and_anonymous_callers_cannot_record_actions(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)
    url = f"/v1/recommendations/{recommendation}/actions"

    assert_problem(await dialogue.post(url, role=Api.VIEWER, json=new_action()), 403)
    assert_problem(await dialogue.post(url, json=new_action()), 401)


async def test_the_city_must_be_one_of_the_recommendations_target_cities(
    dialogue: Api,
) -> None:
    recommendation = await a_recommendation(dialogue, target_cities=["TNTUN", "JOAMM"])

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.ADMIN,
        json=new_action(city="PTLIS"),
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"city"}, problem


async def test_any_city_of_the_network_may_act_on_a_recommendation_without_targets(
    dialogue: Api,
) -> None:
    recommendation = await a_recommendation(dialogue, target_cities=[])
    url = f"/v1/recommendations/{recommendation}/actions"

    accepted = await dialogue.post(url, role=Api.ADMIN, json=new_action(city="PTLIS"))
    unknown = await dialogue.post(url, role=Api.ADMIN, json=new_action(city="GRATH"))

    assert accepted.status_code == 201, accepted.text
    assert error_fields(assert_problem(unknown, 422)) == {"city"}


async def test_the_owner_must_be_a_person_the_caller_may_see(
    dialogue: Api, session: AsyncSession
) -> None:
    recommendation = await a_recommendation(dialogue)
    url = f"/v1/recommendations/{recommendation}/actions"
    unlisted_in_lisbon = await add_person(session, "PTLIS", listed=False)
    unlisted_in_tunis = await add_person(session, "TNTUN", listed=False)
    tunis = {"role": Api.EDITOR, "cities": ("TNTUN",)}

    hidden = await dialogue.post(url, json=new_action(owner=unlisted_in_lisbon.id), **tunis)
    missing = await dialogue.post(url, json=new_action(owner=2**62), **tunis)
    own_city = await dialogue.post(url, json=new_action(owner=unlisted_in_tunis.id), **tunis)

    assert error_fields(assert_problem(hidden, 422)) == {"owner"}
    assert error_fields(assert_problem(missing, 422)) == {"owner"}
    assert own_city.status_code == 201, own_city.text
    assert own_city.json()["owner"]["id"] == unlisted_in_tunis.id


async def test_an_action_cannot_be_recorded_as_cancelled(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.ADMIN,
        json=new_action(status="cancelled"),
    )

    assert error_fields(assert_problem(response, 422)) == {"status"}


async def test_invalid_bodies_are_refused_naming_each_field(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)

    response = await dialogue.post(
        f"/v1/recommendations/{recommendation}/actions",
        role=Api.ADMIN,
        json=new_action(title={"fr": "Sans anglais"}, due_on="soon", status="started"),
    )

    assert {"title", "due_on", "status"} <= error_fields(assert_problem(response, 422))


async def test_actions_on_an_unknown_recommendation_are_not_found(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/recommendations/999999999/actions", role=Api.ADMIN, json=new_action()
    )

    assert_problem(response, 404)


async def test_recording_an_action_writes_action_changed(
    dialogue: Api, session: AsyncSession
) -> None:
    recommendation = await a_recommendation(dialogue)
    before = await dialogue_outbox_position(session)

    action = await create_action(dialogue, recommendation, status="in_progress")

    assert await dialogue_outbox_since(session, before) == [
        (
            "action.changed",
            {
                "action_id": action["id"],
                "recommendation_id": recommendation,
                "city": "TNTUN",
                "status": "in_progress",
                "previous_status": None,
                "due_on": "2027-06-30",
            },
        )
    ]


# Reading and filtering


async def test_anonymous_callers_do_not_see_actions_of_private_events(dialogue: Api) -> None:
    private = await create_action(dialogue, await a_recommendation(dialogue, public=False))
    public = await create_action(dialogue, await a_recommendation(dialogue))

    assert_problem(await dialogue.get(f"/v1/actions/{private['id']}"), 404)
    assert_problem(await dialogue.get(f"/v1/actions/{private['id']}/updates"), 404)
    anonymous = await ids(dialogue)
    assert public["id"] in anonymous and private["id"] not in anonymous, anonymous
    viewer = await dialogue.get(f"/v1/actions/{private['id']}", role=Api.VIEWER)
    assert viewer.status_code == 200, viewer.text
    assert private["id"] in await ids(dialogue, role=Api.VIEWER)


async def test_an_unlisted_owner_is_shown_only_to_those_who_may_see_them(
    dialogue: Api, session: AsyncSession
) -> None:
    owner = await add_person(session, "TNTUN", listed=False)
    action = await create_action(dialogue, await a_recommendation(dialogue), owner=owner.id)
    url = f"/v1/actions/{action['id']}"

    anonymous = (await dialogue.get(url)).json()
    viewer = (await dialogue.get(url, role=Api.VIEWER)).json()
    lisbon = (await dialogue.get(url, role=Api.EDITOR, cities=("PTLIS",))).json()
    tunis = (await dialogue.get(url, role=Api.EDITOR, cities=("TNTUN",))).json()
    in_list = [a for a in await listed(dialogue) if a["id"] == action["id"]]

    assert anonymous["owner"] is None and viewer["owner"] is None and lisbon["owner"] is None
    assert tunis["owner"]["id"] == owner.id, tunis
    assert len(in_list) == 1 and in_list[0]["owner"] is None, in_list


async def test_filtering_by_an_owner_the_caller_may_not_see_finds_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    owner = await add_person(session, "TNTUN", listed=False)
    action = await create_action(dialogue, await a_recommendation(dialogue), owner=owner.id)

    assert await ids(dialogue, f"&owner={owner.id}") == []
    assert await ids(dialogue, f"&owner={owner.id}", role=Api.ADMIN) == [action["id"]]


async def test_an_unknown_action_is_not_found(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/actions/999999999"), 404)
    assert_problem(await dialogue.get("/v1/actions/999999999/updates"), 404)


async def test_actions_filter_by_city_owner_status_and_recommendation(
    dialogue: Api, session: AsyncSession
) -> None:
    first = await a_recommendation(dialogue)
    second = await a_recommendation(dialogue)
    owner = await add_person(session, "JOAMM")
    tunis = await create_action(dialogue, first)
    amman = await create_action(dialogue, first, city="JOAMM", owner=owner.id, status="done")
    later = await create_action(dialogue, second, status="in_progress")

    in_first = f"&recommendation={first}"
    assert await ids(dialogue, f"{in_first}&city=JOAMM") == [amman["id"]]
    assert await ids(dialogue, f"{in_first}&city=TNTUN") == [tunis["id"]]
    assert await ids(dialogue, f"&owner={owner.id}") == [amman["id"]]
    assert set(await ids(dialogue, f"&recommendation={first}")) == {tunis["id"], amman["id"]}
    in_progress = await ids(dialogue, f"&recommendation={second}&status=in_progress")
    assert in_progress == [later["id"]]
    both = await ids(dialogue, f"&recommendation={first}&status=planned&status=done")
    assert set(both) == {tunis["id"], amman["id"]}
    assert await ids(dialogue, f"&recommendation={first}&status=cancelled") == []


async def test_actions_filter_by_due_range_with_exclusive_bounds(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)
    march = await create_action(dialogue, recommendation, due_on="2027-03-31")
    june = await create_action(dialogue, recommendation, due_on="2027-06-30")
    base = f"&recommendation={recommendation}"

    assert await ids(dialogue, f"{base}&due_before=2027-06-30") == [march["id"]]
    assert await ids(dialogue, f"{base}&due_after=2027-03-31") == [june["id"]]
    assert await ids(dialogue, f"{base}&due_after=2027-03-30&due_before=2027-07-01") == [
        march["id"],
        june["id"],
    ]
    assert_problem(await dialogue.get("/v1/actions?due_before=soon"), 422)


async def test_actions_are_listed_by_due_date_and_paged_with_a_cursor(dialogue: Api) -> None:
    recommendation = await a_recommendation(dialogue)
    created = [
        await create_action(dialogue, recommendation, due_on=due)
        for due in ("2028-03-01", "2028-01-01", "2028-02-01", "2028-01-01")
    ]
    seen: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(
            f"/v1/actions?recommendation={recommendation}&limit=3{cursor}"
        )
        page = response.json()
        seen += [action["id"] for action in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    january = sorted([created[1]["id"], created[3]["id"]])
    assert seen == [*january, created[2]["id"], created[0]["id"]], seen


# Overdue, derived in the city's timezone


async def test_overdue_is_derived_from_the_due_date_and_the_status(
    dialogue: Api, session: AsyncSession
) -> None:
    recommendation = await a_recommendation(dialogue)
    today = await city_today(session, "Africa/Tunis")
    past = (today - timedelta(days=2)).isoformat()
    soon = (today + timedelta(days=2)).isoformat()

    late = await create_action(dialogue, recommendation, due_on=past)
    in_time = await create_action(dialogue, recommendation, due_on=soon)
    done = await create_action(dialogue, recommendation, due_on=past, status="done")
    due_today = await create_action(dialogue, recommendation, due_on=today.isoformat())

    assert late["overdue"] is True
    assert in_time["overdue"] is False
    assert done["overdue"] is False
    assert due_today["overdue"] is False
    cancelled = await patch(dialogue, late, {"status": "cancelled"})
    assert cancelled.json()["overdue"] is False, cancelled.json()


async def test_overdue_follows_today_in_the_action_citys_timezone(
    dialogue: Api, session: AsyncSession
) -> None:
    # Kiritimati (UTC+14) is always a day or two ahead of Pago Pago (UTC-11): a date that
    # is today in Pago Pago is already past in Kiritimati.
    await session.execute(
        update(CityRef).where(CityRef.code == "TNTUN").values(timezone="Pacific/Kiritimati")
    )
    await session.execute(
        update(CityRef).where(CityRef.code == "JOAMM").values(timezone="Pacific/Pago_Pago")
    )
    await session.flush()
    recommendation = await a_recommendation(dialogue)
    due = (await city_today(session, "Pacific/Pago_Pago")).isoformat()

    ahead = await create_action(dialogue, recommendation, city="TNTUN", due_on=due)
    behind = await create_action(dialogue, recommendation, city="JOAMM", due_on=due)

    assert ahead["overdue"] is True, ahead
    assert behind["overdue"] is False, behind
    base = f"&recommendation={recommendation}"
    assert await ids(dialogue, f"{base}&overdue=true") == [ahead["id"]]
    assert await ids(dialogue, f"{base}&overdue=false") == [behind["id"]]


async def test_the_overdue_filter_keeps_paging_right(dialogue: Api, session: AsyncSession) -> None:
    recommendation = await a_recommendation(dialogue)
    today = await city_today(session, "Africa/Tunis")
    overdue = [
        await create_action(
            dialogue, recommendation, due_on=(today - timedelta(days=days)).isoformat()
        )
        for days in (5, 4, 3)
    ]
    await create_action(
        dialogue, recommendation, due_on=(today - timedelta(days=4)).isoformat(), status="done"
    )
    await create_action(dialogue, recommendation, due_on=(today + timedelta(days=3)).isoformat())

    first = (
        await dialogue.get(f"/v1/actions?recommendation={recommendation}&overdue=true&limit=2")
    ).json()
    second = (
        await dialogue.get(
            f"/v1/actions?recommendation={recommendation}&overdue=true&limit=2"
            f"&cursor={first['next_cursor']}"
        )
    ).json()

    seen = [a["id"] for a in first["items"] + second["items"]]
    assert seen == [a["id"] for a in overdue], seen
    assert second["next_cursor"] is None


async def test_latest_progress_is_that_of_the_newest_update_that_gave_one(
    dialogue: Api,
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    other = await create_action(dialogue, action["recommendation"])
    for progress in (20, 60):
        assert (await report(dialogue, action["id"], progress=progress)).status_code == 201
    assert (await report(dialogue, action["id"])).status_code == 201
    assert (await report(dialogue, other["id"], progress=5)).status_code == 201

    read = (await dialogue.get(f"/v1/actions/{action['id']}")).json()
    in_list = {
        a["id"]: a["latest_progress"]
        for a in await listed(dialogue, f"&recommendation={action['recommendation']}")
    }

    assert read["latest_progress"] == 60, read
    assert in_list == {action["id"]: 60, other["id"]: 5}, in_list


# Changing


async def test_changing_the_title_raises_the_version_without_announcing_it(
    dialogue: Api, session: AsyncSession
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    response = await patch(dialogue, action, {"title": {"en": "Open two reception desks"}})

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["title"] == "Open two reception desks"
    assert await dialogue_outbox_since(session, before) == []


async def test_a_change_that_changes_nothing_keeps_the_etag_and_announces_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    response = await patch(
        dialogue,
        action,
        {"status": "planned", "due_on": action["due_on"], "title": action["titles"]},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert await dialogue_outbox_since(session, before) == []


async def test_a_status_change_is_announced_with_the_previous_status(
    dialogue: Api, session: AsyncSession
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    response = await patch(dialogue, action, {"status": "in_progress"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_progress"
    events = await dialogue_outbox_since(session, before)
    assert [(kind, data["status"], data["previous_status"]) for kind, data in events] == [
        ("action.changed", "in_progress", "planned")
    ], events


async def test_a_due_date_change_is_announced(dialogue: Api, session: AsyncSession) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    response = await patch(dialogue, action, {"due_on": "2027-09-30"})

    assert response.status_code == 200, response.text
    events = await dialogue_outbox_since(session, before)
    assert [(kind, data["due_on"], data["previous_status"]) for kind, data in events] == [
        ("action.changed", "2027-09-30", None)
    ], events


async def test_status_moves_only_along_the_allowed_transitions(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    steps = [
        ("done", 200),
        ("cancelled", 409),  # done is only reopened
        ("planned", 409),
        ("in_progress", 200),  # reopened
        ("cancelled", 200),
        ("done", 409),  # cancelled is only planned again
        ("in_progress", 409),
        ("planned", 200),
    ]
    for status, expected in steps:
        response = await patch(dialogue, action, {"status": status})
        assert response.status_code == expected, (status, response.text)
        if expected == 409:
            assert error_fields(response.json()) == {"status"}, response.json()
        else:
            action = response.json()


async def test_the_owner_may_be_cleared_or_replaced_by_a_person_the_caller_may_see(
    dialogue: Api, session: AsyncSession
) -> None:
    first = await add_person(session, "TNTUN")
    hidden = await add_person(session, "PTLIS", listed=False)
    action = await create_action(dialogue, await a_recommendation(dialogue), owner=first.id)
    tunis = {"role": Api.EDITOR, "cities": ("TNTUN",)}

    refused = await patch(dialogue, action, {"owner": hidden.id}, **tunis)
    cleared = await patch(dialogue, action, {"owner": None}, **tunis)

    assert error_fields(assert_problem(refused, 422)) == {"owner"}
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["owner"] is None


async def test_the_city_of_an_action_cannot_be_changed(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))

    response = await patch(dialogue, action, {"city": "JOAMM"})

    assert error_fields(assert_problem(response, 422)) == {"city"}


async def test_fields_that_cannot_be_cleared_refuse_null(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))

    response = await patch(dialogue, action, {"due_on": None, "status": None})

    assert error_fields(assert_problem(response, 422)) == {"due_on", "status"}


async def test_changes_need_if_match_with_the_current_etag(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    url = f"/v1/actions/{action['id']}"
    body = {"due_on": "2027-07-31"}

    missing = await dialogue.patch(url, role=Api.ADMIN, json=body)
    assert (await patch(dialogue, action, body)).status_code == 200
    stale = await patch(dialogue, action, {"due_on": "2027-08-31"})

    assert_problem(missing, 428)
    assert assert_problem(stale, 412)["current_etag"] == '"2"'


async def test_editor_of_lisbon_cannot_change_an_action_of_tunis(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    body = {"status": "in_progress"}

    lisbon = await patch(dialogue, action, body, role=Api.EDITOR, cities=("PTLIS",))
    viewer = await patch(dialogue, action, body, role=Api.VIEWER)
    anonymous = await patch(dialogue, action, body, role=None)
    tunis = await patch(dialogue, action, body, role=Api.EDITOR, cities=("TNTUN",))

    assert_problem(lisbon, 403)
    assert_problem(viewer, 403)
    assert_problem(anonymous, 401)
    assert tunis.status_code == 200, tunis.text


async def test_changing_an_unknown_action_is_not_found(dialogue: Api) -> None:
    response = await dialogue.patch(
        "/v1/actions/999999999", role=Api.ADMIN, json={}, headers={"If-Match": '"1"'}
    )

    assert_problem(response, 404)


# Removing


async def test_removing_an_action_removes_its_updates(dialogue: Api, session: AsyncSession) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    assert (await report(dialogue, action["id"], progress=10)).status_code == 201

    response = await dialogue.delete(f"/v1/actions/{action['id']}", role=Api.ADMIN)

    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(f"/v1/actions/{action['id']}"), 404)
    remaining = await session.scalar(
        select(func.count()).where(ProgressUpdate.action_id == action["id"])
    )
    assert remaining == 0


async def test_removing_checks_if_match_when_sent(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    url = f"/v1/actions/{action['id']}"

    stale = await dialogue.delete(url, role=Api.ADMIN, headers={"If-Match": '"7"'})
    current = await dialogue.delete(url, role=Api.ADMIN, headers={"If-Match": '"1"'})

    assert_problem(stale, 412)
    assert current.status_code == 204, current.text


async def test_only_admins_and_editors_of_the_city_remove_actions(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    url = f"/v1/actions/{action['id']}"

    assert_problem(await dialogue.delete(url, role=Api.EDITOR, cities=("PTLIS",)), 403)
    assert_problem(await dialogue.delete(url, role=Api.VIEWER), 403)
    assert_problem(await dialogue.delete(url), 401)
    assert_problem(await dialogue.delete("/v1/actions/999999999", role=Api.ADMIN), 404)
    tunis = await dialogue.delete(url, role=Api.EDITOR, cities=("TNTUN",))
    assert tunis.status_code == 204, tunis.text


# Progress updates


async def test_an_update_that_changes_the_status_keeps_the_step_and_announces_it(
    dialogue: Api, session: AsyncSession
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    response = await report(
        dialogue,
        action["id"],
        text={"en": "Premises found.", "ar": "تم العثور على المقر."},
        progress=30,
        status="in_progress",
    )

    assert response.status_code == 201, response.text
    reported = response.json()
    assert (reported["old_status"], reported["status"]) == ("planned", "in_progress"), reported
    assert reported["progress"] == 30
    assert reported["reported_by"] == "admin@test"
    assert reported["action"] == action["id"]
    read = await dialogue.get(f"/v1/actions/{action['id']}")
    assert read.json()["status"] == "in_progress"
    assert read.headers["ETag"] == '"2"'
    events = await dialogue_outbox_since(session, before)
    assert [(kind, data["status"], data["previous_status"]) for kind, data in events] == [
        ("action.changed", "in_progress", "planned")
    ], events


async def test_an_update_without_a_new_status_leaves_the_action_as_it_was(
    dialogue: Api, session: AsyncSession
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    before = await dialogue_outbox_position(session)

    plain = await report(dialogue, action["id"], progress=10)
    same = await report(dialogue, action["id"], status="planned")

    assert plain.status_code == 201 and same.status_code == 201, (plain.text, same.text)
    for created in (plain.json(), same.json()):
        assert created["old_status"] is None and created["status"] is None, created
    read = await dialogue.get(f"/v1/actions/{action['id']}")
    assert read.headers["ETag"] == '"1"'
    assert await dialogue_outbox_since(session, before) == []


async def test_an_update_may_not_make_an_illegal_move(dialogue: Api, session: AsyncSession) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue), status="done")

    response = await report(dialogue, action["id"], status="cancelled", progress=100)

    assert error_fields(assert_problem(response, 409)) == {"status"}
    stored = await session.scalar(
        select(func.count()).where(ProgressUpdate.action_id == action["id"])
    )
    assert stored == 0


async def test_a_done_action_is_reopened_by_an_update(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue), status="done")

    response = await report(dialogue, action["id"], status="in_progress")

    assert response.status_code == 201, response.text
    assert (response.json()["old_status"], response.json()["status"]) == ("done", "in_progress")


async def test_invalid_updates_are_refused_naming_each_field(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))

    response = await report(
        dialogue, action["id"], text={"fr": "Sans anglais"}, progress=101, status="started"
    )

    assert error_fields(assert_problem(response, 422)) == {"text", "progress", "status"}


async def test_editor_of_lisbon_cannot_report_on_an_action_of_tunis(dialogue: Api) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    url = f"/v1/actions/{action['id']}/updates"
    body = {"text": {"en": "Done."}}

    lisbon = await dialogue.post(url, role=Api.EDITOR, cities=("PTLIS",), json=body)
    viewer = await dialogue.post(url, role=Api.VIEWER, json=body)
    anonymous = await dialogue.post(url, json=body)
    unknown = await dialogue.post("/v1/actions/999999999/updates", role=Api.ADMIN, json=body)
    tunis = await dialogue.post(url, role=Api.EDITOR, cities=("TNTUN",), json=body)

    assert_problem(lisbon, 403)
    assert_problem(viewer, 403)
    assert_problem(anonymous, 401)
    assert_problem(unknown, 404)
    assert tunis.status_code == 201, tunis.text
    assert tunis.json()["reported_by"] == "editor@test"


async def test_updates_are_listed_oldest_first_with_authors_for_token_holders(
    dialogue: Api,
) -> None:
    action = await create_action(dialogue, await a_recommendation(dialogue))
    reported = [
        (await report(dialogue, action["id"], text={"en": f"Step {n}"}, progress=n * 10)).json()
        for n in (1, 2, 3)
    ]
    url = f"/v1/actions/{action['id']}/updates"

    first = (await dialogue.get(f"{url}?limit=2")).json()
    second = (await dialogue.get(f"{url}?limit=2&cursor={first['next_cursor']}")).json()
    viewer = (await dialogue.get(url, role=Api.VIEWER)).json()

    pages = first["items"] + second["items"]
    assert [u["id"] for u in pages] == [u["id"] for u in reported], pages
    assert [u["text"] for u in pages] == ["Step 1", "Step 2", "Step 3"]
    assert second["next_cursor"] is None
    assert {u["reported_by"] for u in pages} == {None}
    assert {u["reported_by"] for u in viewer["items"]} == {"admin@test"}
