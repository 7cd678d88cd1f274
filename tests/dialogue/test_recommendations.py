"""Recommendations: their evidence, dated status history, visibility, editors and outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.actions.models import Action
from services.dialogue_api.indicators.models import IndicatorRef
from services.dialogue_api.recommendations import service
from services.dialogue_api.recommendations.figures import UNCONFIGURED
from services.dialogue_api.recommendations.models import Evidence, RecommendationStatusChange
from shared.auth import Principal, Role
from shared.errors import NotFound
from tests.dialogue.factories import (
    create_event,
    create_recommendation,
    dialogue_outbox_position,
    dialogue_outbox_since,
    new_recommendation,
)
from tests.factories import Api, assert_problem, error_fields

TUNIS_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("TNTUN",)}
LISBON_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTLIS",)}


async def ids(dialogue: Api, query: str = "", **kwargs: Any) -> list[int]:
    response = await dialogue.get(f"/v1/recommendations?limit=100{query}", **kwargs)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def history(dialogue: Api, recommendation_id: int, **kwargs: Any) -> list[dict[str, Any]]:
    response = await dialogue.get(f"/v1/recommendations/{recommendation_id}/history", **kwargs)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def move(
    dialogue: Api, recommendation: dict[str, Any], status: str, *, version: int, **json: Any
) -> dict[str, Any]:
    response = await dialogue.patch(
        f"/v1/recommendations/{recommendation['id']}",
        role=Api.ADMIN,
        headers={"If-Match": f'"{version}"'},
        json={"status": status, **json},
    )
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


# Creating


async def test_editor_of_the_host_city_records_a_recommendation_with_its_evidence(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        "/v1/recommendations", json=new_recommendation(event["id"]), **TUNIS_EDITOR
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"] == f"/v1/recommendations/{created['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (created["event"], created["status"], created["governance_level"]) == (
        event["id"],
        "proposed",
        "local",
    ), created
    assert created["target_cities"] == ["TNTUN", "JOAMM"], created
    assert [(e["city"], e["indicator"], e["role"]) for e in created["evidence"]] == [
        ("TNTUN", "foreign_nationals", "motivates")
    ], created


async def test_creation_is_the_first_history_step_and_is_announced(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    before = await dialogue_outbox_position(session)

    created = await create_recommendation(
        dialogue, event["id"], status="adopted", status_note="Adopted at the closing session."
    )

    steps = await history(dialogue, created["id"], role=Api.VIEWER)
    assert [(s["old_status"], s["status"], s["changed_by"], s["note"]) for s in steps] == [
        (None, "adopted", "admin@test", "Adopted at the closing session.")
    ], steps
    assert await dialogue_outbox_since(session, before) == [
        (
            "recommendation.changed",
            {
                "recommendation_id": created["id"],
                "event_id": event["id"],
                "status": "adopted",
                "previous_status": None,
                "target_cities": ["TNTUN", "JOAMM"],
            },
        )
    ]


async def test_only_admins_and_editors_of_the_host_city_record_recommendations(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    body = new_recommendation(event["id"])
    before = await dialogue_outbox_position(session)

    assert_problem(await dialogue.post("/v1/recommendations", json=body, **LISBON_EDITOR), 403)
    assert_problem(await dialogue.post("/v1/recommendations", json=body, role=Api.VIEWER), 403)
    assert_problem(await dialogue.post("/v1/recommendations", json=body), 401)
    assert await ids(dialogue, f"&event={event['id']}") == []
    assert await dialogue_outbox_since(session, before) == []


async def test_a_new_recommendation_is_proposed_or_adopted(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        "/v1/recommendations",
        role=Api.ADMIN,
        json=new_recommendation(event["id"], status="implemented"),
    )

    assert error_fields(assert_problem(response, 422)) == {"status"}


async def test_unknown_cities_are_refused_naming_each_field(dialogue: Api) -> None:
    event = await create_event(dialogue)
    body = new_recommendation(
        event["id"],
        target_cities=["TNTUN", "GRATH"],
        evidence=[{"city": "XXABC", "indicator": "foreign_nationals", "role": "measures"}],
    )

    response = await dialogue.post("/v1/recommendations", role=Api.ADMIN, json=body)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"target_cities.1", "evidence.0.city"}, problem


async def test_an_indicator_code_must_have_the_form_of_one(dialogue: Api) -> None:
    event = await create_event(dialogue)
    body = new_recommendation(
        event["id"], evidence=[{"city": "TNTUN", "indicator": "Foreign-Nationals", "role": "x"}]
    )

    response = await dialogue.post("/v1/recommendations", role=Api.ADMIN, json=body)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"evidence.0.indicator", "evidence.0.role"}, problem


async def test_an_indicator_missing_from_the_catalogue_is_refused_naming_the_field(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    before = await dialogue_outbox_position(session)
    body = new_recommendation(
        event["id"],
        evidence=[
            {"city": "TNTUN", "indicator": "foreign_nationals", "role": "motivates"},
            {"city": "TNTUN", "indicator": "shelter_places", "role": "measures"},
        ],
    )

    response = await dialogue.post("/v1/recommendations", role=Api.ADMIN, json=body)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"evidence.1.indicator"}, problem
    (error,) = problem["errors"]
    assert error["value"] == "shelter_places", error
    assert error["pointer"] == "/evidence/1/indicator", error
    assert await dialogue_outbox_since(session, before) == []


async def test_an_indicator_removed_from_the_catalogue_is_refused_for_new_evidence(
    dialogue: Api, session: AsyncSession
) -> None:
    await session.execute(
        update(IndicatorRef)
        .where(IndicatorRef.code == "reception_places")
        .values(removed_at=func.now())
    )
    event = await create_event(dialogue)
    body = new_recommendation(
        event["id"],
        evidence=[{"city": "TNTUN", "indicator": "reception_places", "role": "measures"}],
    )

    response = await dialogue.post("/v1/recommendations", role=Api.ADMIN, json=body)

    assert error_fields(assert_problem(response, 422)) == {"evidence.0.indicator"}


async def test_evidence_names_its_indicator_in_the_catalogues_languages(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])

    (link,) = created["evidence"]
    assert link["indicator_names"]["en"] == "Residents with a foreign nationality", link
    assert set(link["indicator_names"]) == {"en", "fr", "ar"}, link
    assert link["indicator_unit"] == "persons", link
    # Figures are for `measures` links only.
    assert (link["baseline"], link["latest"], link["figures_note"]) == (None, None, None), link


async def test_without_a_profiles_api_measures_evidence_reads_without_figures(
    dialogue: Api,
) -> None:
    # The suite's dialogue app is told of no profiles API (MC2CM_PROFILES_API_URL unset).
    event = await create_event(dialogue)
    created = await create_recommendation(
        dialogue,
        event["id"],
        evidence=[{"city": "ITTRN", "indicator": "foreign_nationals", "role": "measures"}],
    )

    read = await dialogue.get(f"/v1/recommendations/{created['id']}")

    assert read.status_code == 200, read.text
    (link,) = read.json()["evidence"]
    assert (link["baseline"], link["latest"]) == (None, None), link
    assert link["figures_note"] == UNCONFIGURED, link


async def test_repeated_target_cities_or_evidence_are_refused_naming_the_repeat(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    link = {"city": "TNTUN", "indicator": "foreign_nationals", "role": "motivates"}

    response = await dialogue.post(
        "/v1/recommendations",
        role=Api.ADMIN,
        json=new_recommendation(
            event["id"], target_cities=["TNTUN", "JOAMM", "TNTUN"], evidence=[link, link]
        ),
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"target_cities.2", "evidence.1"}, problem


async def test_the_event_must_exist(dialogue: Api) -> None:
    response = await dialogue.post(
        "/v1/recommendations", role=Api.ADMIN, json=new_recommendation(999999999)
    )

    assert error_fields(assert_problem(response, 422)) == {"event"}


async def test_a_cancelled_event_recommends_nothing(dialogue: Api) -> None:
    event = await create_event(dialogue)
    cancelled = await dialogue.patch(
        f"/v1/events/{event['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "cancelled"},
    )
    assert cancelled.status_code == 200, cancelled.text

    response = await dialogue.post(
        "/v1/recommendations", role=Api.ADMIN, json=new_recommendation(event["id"])
    )

    assert error_fields(assert_problem(response, 409)) == {"event"}


async def test_unknown_fields_are_refused(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        "/v1/recommendations",
        role=Api.ADMIN,
        json=new_recommendation(event["id"], priority="high"),
    )

    assert error_fields(assert_problem(response, 422)) == {"priority"}


# Reading and filtering


async def test_recommendations_of_private_events_are_hidden_from_anonymous_callers(
    dialogue: Api,
) -> None:
    private = await create_event(dialogue, public=False)
    hidden = await create_recommendation(dialogue, private["id"])
    url = f"/v1/recommendations/{hidden['id']}"

    assert_problem(await dialogue.get(url), 404)
    assert_problem(await dialogue.get(f"{url}/history"), 404)
    assert hidden["id"] not in await ids(dialogue)
    assert hidden["id"] not in await ids(dialogue, f"&event={private['id']}")
    viewer = await dialogue.get(url, role=Api.VIEWER)
    assert viewer.status_code == 200, viewer.text
    assert hidden["id"] in await ids(dialogue, f"&event={private['id']}", role=Api.VIEWER)


async def test_get_recommendation_applies_the_events_visibility(
    dialogue: Api, session: AsyncSession
) -> None:
    private = await create_event(dialogue, public=False)
    hidden = await create_recommendation(dialogue, private["id"])
    viewer = Principal(subject="viewer@test", role=Role.viewer)

    found = await service.get_recommendation(session, viewer, hidden["id"])

    assert found.id == hidden["id"]
    with pytest.raises(NotFound):
        await service.get_recommendation(session, None, hidden["id"])


async def test_anonymous_callers_see_the_history_without_who_changed_it(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])

    steps = await history(dialogue, created["id"])

    assert [(s["status"], s["changed_by"]) for s in steps] == [("proposed", None)], steps


async def test_recommendations_filter_by_event_theme_city_status_and_level(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    other_event = await create_event(dialogue)
    housing = await create_recommendation(dialogue, event["id"])
    health = await create_recommendation(
        dialogue,
        event["id"],
        theme="health",
        target_cities=["PTLIS"],
        governance_level="national",
        status="adopted",
    )
    elsewhere = await create_recommendation(dialogue, other_event["id"])
    scope = f"&event={event['id']}"

    assert await ids(dialogue, scope) == [housing["id"], health["id"]]
    assert elsewhere["id"] in await ids(dialogue, f"&event={other_event['id']}")
    assert await ids(dialogue, f"{scope}&theme=health") == [health["id"]]
    assert await ids(dialogue, f"{scope}&city=JOAMM") == [housing["id"]]
    assert await ids(dialogue, f"{scope}&status=adopted") == [health["id"]]
    assert await ids(dialogue, f"{scope}&status=adopted&status=proposed") == [
        housing["id"],
        health["id"],
    ]
    assert await ids(dialogue, f"{scope}&governance_level=national") == [health["id"]]


async def test_recommendations_filter_by_their_evidence(dialogue: Api) -> None:
    event = await create_event(dialogue)
    shelters = await create_recommendation(
        dialogue,
        event["id"],
        evidence=[
            {"city": "TNTUN", "indicator": "reception_places", "role": "motivates"},
            {"city": "JOAMM", "indicator": "housing_tenure_foreign", "role": "measures"},
        ],
    )
    rents = await create_recommendation(
        dialogue,
        event["id"],
        evidence=[{"city": "TNTUN", "indicator": "housing_tenure_foreign", "role": "measures"}],
    )
    scope = f"&event={event['id']}"

    assert await ids(dialogue, "&indicator=reception_places") == [shelters["id"]]
    assert await ids(dialogue, f"{scope}&indicator=housing_tenure_foreign") == [
        shelters["id"],
        rents["id"],
    ]
    assert await ids(dialogue, f"{scope}&evidence_city=JOAMM") == [shelters["id"]]
    # Both: one link of that city's indicator (Amman's shelters are not evidence here).
    assert await ids(dialogue, f"{scope}&indicator=housing_tenure_foreign&evidence_city=TNTUN") == [
        rents["id"]
    ]
    assert await ids(dialogue, f"{scope}&indicator=reception_places&evidence_city=JOAMM") == []


async def test_invalid_filters_are_problems_naming_the_parameter(dialogue: Api) -> None:
    response = await dialogue.get(
        "/v1/recommendations?indicator=Housing-Tenure&city=lisbon&status=done"
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"indicator", "city", "status.0"}, problem


async def test_recommendations_are_listed_by_id_and_paged_with_a_cursor(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = [(await create_recommendation(dialogue, event["id"]))["id"] for _ in range(3)]
    seen: list[int] = []
    cursor = ""
    while True:
        response = await dialogue.get(f"/v1/recommendations?event={event['id']}&limit=2{cursor}")
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == created, seen


async def test_text_follows_accept_language(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])

    response = await dialogue.get(
        f"/v1/recommendations/{created['id']}", headers={"Accept-Language": "fr-TN, en;q=0.5"}
    )

    assert response.json()["language"] == "fr", response.json()
    assert response.json()["text"].startswith("Ouvrir un guichet unique"), response.json()
    assert response.headers["ETag"] == '"1"'


async def test_unknown_recommendation_is_404(dialogue: Api) -> None:
    assert_problem(await dialogue.get("/v1/recommendations/999999999"), 404)
    assert_problem(await dialogue.get("/v1/recommendations/999999999/history"), 404)


# Changing


async def test_patch_needs_if_match_and_refuses_a_stale_one(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"status": "adopted"})
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"4"'}, json={"status": "adopted"}
    )

    assert_problem(missing, 428)
    assert_problem(stale, 412)
    assert (await dialogue.get(url)).json()["status"] == "proposed"


async def test_a_change_of_status_is_dated_in_the_history_and_announced(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        headers={"If-Match": '"1"'},
        json={"status": "adopted", "status_note": "Adopted by the city council."},
        **TUNIS_EDITOR,
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    steps = await history(dialogue, created["id"], role=Api.VIEWER)
    assert [(s["old_status"], s["status"], s["changed_by"], s["note"]) for s in steps] == [
        (None, "proposed", "admin@test", None),
        ("proposed", "adopted", "editor@test", "Adopted by the city council."),
    ], steps
    assert await dialogue_outbox_since(session, before) == [
        (
            "recommendation.changed",
            {
                "recommendation_id": created["id"],
                "event_id": event["id"],
                "status": "adopted",
                "previous_status": "proposed",
                "target_cities": ["TNTUN", "JOAMM"],
            },
        )
    ]


async def test_history_follows_the_whole_life_oldest_first(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    for version, status in enumerate(("adopted", "in_progress", "implemented"), start=1):
        await move(dialogue, created, status, version=version)

    steps = await history(dialogue, created["id"])
    paged = (await dialogue.get(f"/v1/recommendations/{created['id']}/history?limit=3")).json()

    assert [(s["old_status"], s["status"]) for s in steps] == [
        (None, "proposed"),
        ("proposed", "adopted"),
        ("adopted", "in_progress"),
        ("in_progress", "implemented"),
    ], steps
    dates = [datetime.fromisoformat(s["changed_at"]) for s in steps]
    assert dates == sorted(dates) and all(d.tzinfo is not None for d in dates), dates
    assert [s["id"] for s in steps] == sorted(s["id"] for s in steps)
    assert len(paged["items"]) == 3 and paged["next_cursor"] is not None, paged


async def test_an_illegal_transition_is_a_conflict_naming_status_and_writes_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "implemented", "theme": "health"},
    )

    assert error_fields(assert_problem(response, 409)) == {"status"}
    assert await dialogue_outbox_since(session, before) == []
    assert len(await history(dialogue, created["id"])) == 1
    assert (await dialogue.get(f"/v1/recommendations/{created['id']}")).json()["theme"] == (
        "housing"
    )


async def test_an_implemented_recommendation_is_final(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"], status="adopted")
    await move(dialogue, created, "in_progress", version=1)
    await move(dialogue, created, "implemented", version=2)

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"3"'},
        json={"status": "dropped"},
    )

    assert error_fields(assert_problem(response, 409)) == {"status"}


async def test_a_dropped_recommendation_can_be_reopened(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    await move(dialogue, created, "dropped", version=1, status_note="No budget this year.")

    reopened = await move(dialogue, created, "proposed", version=2)

    assert reopened["status"] == "proposed", reopened
    steps = await history(dialogue, created["id"])
    assert [(s["old_status"], s["status"], s["note"]) for s in steps[1:]] == [
        ("proposed", "dropped", "No budget this year."),
        ("dropped", "proposed", None),
    ], steps


async def test_changing_other_fields_is_announced_without_a_history_step(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"target_cities": ["TNTUN", "MATNG"], "governance_level": "national"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["target_cities"] == ["TNTUN", "MATNG"]
    assert len(await history(dialogue, created["id"])) == 1
    assert await dialogue_outbox_since(session, before) == [
        (
            "recommendation.changed",
            {
                "recommendation_id": created["id"],
                "event_id": event["id"],
                "status": "proposed",
                "previous_status": None,
                "target_cities": ["TNTUN", "MATNG"],
            },
        )
    ]


async def test_a_patch_that_changes_nothing_keeps_the_etag_and_writes_nothing(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    before = await dialogue_outbox_position(session)

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status": "proposed", "theme": "housing", "target_cities": ["TNTUN", "JOAMM"]},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert await dialogue_outbox_since(session, before) == []
    assert len(await history(dialogue, created["id"])) == 1


async def test_a_status_note_goes_with_a_change_of_status(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])

    response = await dialogue.patch(
        f"/v1/recommendations/{created['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"status_note": "Still under discussion."},
    )

    assert error_fields(assert_problem(response, 422)) == {"status_note"}


async def test_patch_checks_target_cities_and_cannot_move_to_another_event(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}"

    unknown = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"target_cities": ["XXABC"]}
    )
    moved = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"event": event["id"]}
    )

    assert error_fields(assert_problem(unknown, 422)) == {"target_cities.0"}
    assert error_fields(assert_problem(moved, 422)) == {"event"}


async def test_only_editors_of_the_host_city_change_a_recommendation(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}"
    change: dict[str, Any] = {"headers": {"If-Match": '"1"'}, "json": {"status": "adopted"}}
    before = await dialogue_outbox_position(session)

    assert_problem(await dialogue.patch(url, **change, **LISBON_EDITOR), 403)
    assert_problem(await dialogue.patch(url, **change, role=Api.VIEWER), 403)
    assert_problem(await dialogue.patch(url, **change), 401)
    assert await dialogue_outbox_since(session, before) == []
    assert (await dialogue.get(url)).json()["status"] == "proposed"


# Removing


async def test_a_recommendation_without_actions_can_be_removed(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}"

    stale = await dialogue.delete(url, headers={"If-Match": '"2"'}, **TUNIS_EDITOR)
    response = await dialogue.delete(url, headers={"If-Match": '"1"'}, **TUNIS_EDITOR)

    assert_problem(stale, 412)
    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(url), 404)
    for model in (Evidence, RecommendationStatusChange):
        left = await session.scalar(
            select(func.count()).where(model.recommendation_id == created["id"])
        )
        assert left == 0, model


async def test_a_recommendation_followed_up_by_actions_cannot_be_removed(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    action = Action(
        recommendation_id=created["id"],
        city_code="TNTUN",
        title={"en": "Open the desk"},
        due_on=date(2027, 12, 31),
    )
    session.add(action)
    await session.flush()

    response = await dialogue.delete(f"/v1/recommendations/{created['id']}", role=Api.ADMIN)

    problem = assert_problem(response, 409)
    assert problem["actions"] == [action.id], problem
    assert (await dialogue.get(f"/v1/recommendations/{created['id']}")).status_code == 200


async def test_editor_of_another_city_cannot_remove_a_recommendation(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}"

    assert_problem(await dialogue.delete(url, **LISBON_EDITOR), 403)
    assert_problem(await dialogue.delete(url, role=Api.VIEWER), 403)
    assert_problem(await dialogue.delete(url), 401)
    assert (await dialogue.get(url)).status_code == 200


# Evidence


async def test_adding_evidence_embeds_it_raises_the_version_and_is_announced(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    before = await dialogue_outbox_position(session)

    response = await dialogue.post(
        f"/v1/recommendations/{created['id']}/evidence",
        json={"city": "JOAMM", "indicator": "registered_refugees", "role": "measures"},
        **TUNIS_EDITOR,
    )

    assert response.status_code == 201, response.text
    link = response.json()
    assert (link["city"], link["indicator"], link["role"], link["note"]) == (
        "JOAMM",
        "registered_refugees",
        "measures",
        None,
    ), link
    read = await dialogue.get(f"/v1/recommendations/{created['id']}")
    assert read.headers["ETag"] == '"2"'
    assert link["id"] in [e["id"] for e in read.json()["evidence"]], read.json()
    events = await dialogue_outbox_since(session, before)
    assert [(kind, data["recommendation_id"]) for kind, data in events] == [
        ("recommendation.changed", created["id"])
    ], events


async def test_the_same_evidence_link_twice_is_a_conflict(
    dialogue: Api, session: AsyncSession
) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}/evidence"
    before = await dialogue_outbox_position(session)

    again = await dialogue.post(
        url,
        role=Api.ADMIN,
        json={"city": "TNTUN", "indicator": "foreign_nationals", "role": "motivates"},
    )
    other_role = await dialogue.post(
        url,
        role=Api.ADMIN,
        json={"city": "TNTUN", "indicator": "foreign_nationals", "role": "measures"},
    )

    assert_problem(again, 409)
    assert other_role.status_code == 201, other_role.text
    assert len(await dialogue_outbox_since(session, before)) == 1


async def test_evidence_is_validated_naming_the_field(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}/evidence"

    bad_code = await dialogue.post(
        url, role=Api.ADMIN, json={"city": "TNTUN", "indicator": "9lives", "role": "measures"}
    )
    unknown_city = await dialogue.post(
        url,
        role=Api.ADMIN,
        json={"city": "GRATH", "indicator": "housing_tenure_foreign", "role": "measures"},
    )

    unknown_indicator = await dialogue.post(
        url, role=Api.ADMIN, json={"city": "TNTUN", "indicator": "rent", "role": "measures"}
    )

    assert error_fields(assert_problem(bad_code, 422)) == {"indicator"}
    assert error_fields(assert_problem(unknown_city, 422)) == {"city"}
    assert error_fields(assert_problem(unknown_indicator, 422)) == {"indicator"}


async def test_only_editors_of_the_host_city_change_evidence(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    url = f"/v1/recommendations/{created['id']}/evidence"
    link = {"city": "PTLIS", "indicator": "housing_tenure_foreign", "role": "measures"}
    evidence_url = f"{url}/{created['evidence'][0]['id']}"

    assert_problem(await dialogue.post(url, json=link, **LISBON_EDITOR), 403)
    assert_problem(await dialogue.post(url, json=link, role=Api.VIEWER), 403)
    assert_problem(await dialogue.post(url, json=link), 401)
    assert_problem(await dialogue.delete(evidence_url, **LISBON_EDITOR), 403)
    assert_problem(await dialogue.delete(evidence_url), 401)


async def test_removing_evidence_drops_it_from_the_recommendation(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    evidence_id = created["evidence"][0]["id"]

    response = await dialogue.delete(
        f"/v1/recommendations/{created['id']}/evidence/{evidence_id}", **TUNIS_EDITOR
    )

    assert response.status_code == 204, response.text
    read = await dialogue.get(f"/v1/recommendations/{created['id']}")
    assert read.json()["evidence"] == [], read.json()
    assert read.headers["ETag"] == '"2"'


async def test_evidence_is_not_reachable_through_another_recommendation(dialogue: Api) -> None:
    event = await create_event(dialogue)
    created = await create_recommendation(dialogue, event["id"])
    other = await create_recommendation(dialogue, event["id"])
    evidence_id = created["evidence"][0]["id"]

    wrong = await dialogue.delete(
        f"/v1/recommendations/{other['id']}/evidence/{evidence_id}", role=Api.ADMIN
    )
    unknown = await dialogue.delete(
        f"/v1/recommendations/{created['id']}/evidence/999999999", role=Api.ADMIN
    )

    assert_problem(wrong, 404)
    assert_problem(unknown, 404)
    assert len((await dialogue.get(f"/v1/recommendations/{created['id']}")).json()["evidence"]) == 1


async def test_evidence_of_a_private_events_recommendation_is_404_to_anonymous_reads(
    dialogue: Api,
) -> None:
    private = await create_event(dialogue, public=False)
    hidden = await create_recommendation(dialogue, private["id"])

    assert hidden["id"] not in await ids(dialogue, "&indicator=foreign_nationals")
    assert hidden["id"] in await ids(dialogue, "&indicator=foreign_nationals", role=Api.VIEWER)
