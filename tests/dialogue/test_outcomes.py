"""Outcomes: documents an event left behind, seen with the event, changed by its editors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dialogue.factories import create_event
from tests.factories import Api, assert_problem, error_fields

TUNIS_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("TNTUN",)}
LISBON_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTLIS",)}


def new_outcome(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "minutes",
        "title": {"en": "Minutes of the technical meeting", "fr": "Compte rendu de la réunion"},
        "url": "https://www.example.org/mc2cm/minutes.pdf",
        "document_language": "fr",
    }
    body.update(overrides)
    return body


async def add(dialogue: Api, event_id: int, **overrides: Any) -> dict[str, Any]:
    response = await dialogue.post(
        f"/v1/events/{event_id}/outcomes", role=Api.ADMIN, json=new_outcome(**overrides)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def listed(dialogue: Api, event_id: int, query: str = "", **kwargs: Any) -> httpx.Response:
    return await dialogue.get(f"/v1/events/{event_id}/outcomes?limit=100{query}", **kwargs)


# Creating


async def test_editor_of_the_host_city_links_the_minutes_of_its_event(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        f"/v1/events/{event['id']}/outcomes", json=new_outcome(), **TUNIS_EDITOR
    )

    assert response.status_code == 201, response.text
    outcome = response.json()
    assert response.headers["Location"] == f"/v1/events/{event['id']}/outcomes/{outcome['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (outcome["event"], outcome["kind"], outcome["document_language"]) == (
        event["id"],
        "minutes",
        "fr",
    ), outcome
    assert outcome["url"] == "https://www.example.org/mc2cm/minutes.pdf", outcome
    assert (outcome["title"], outcome["language"]) == ("Minutes of the technical meeting", "en")


async def test_editor_of_another_city_viewer_and_anonymous_cannot_link_outcomes(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue)
    url = f"/v1/events/{event['id']}/outcomes"

    assert_problem(await dialogue.post(url, json=new_outcome(), **LISBON_EDITOR), 403)
    assert_problem(await dialogue.post(url, json=new_outcome(), role=Api.VIEWER), 403)
    assert_problem(await dialogue.post(url, json=new_outcome()), 401)
    assert (await listed(dialogue, event["id"])).json()["items"] == []


async def test_only_http_and_https_links_are_accepted(dialogue: Api) -> None:
    event = await create_event(dialogue)
    url = f"/v1/events/{event['id']}/outcomes"

    for link in ("javascript:alert(1)", "ftp://files.example.org/minutes.pdf", "minutes.pdf"):
        response = await dialogue.post(url, role=Api.ADMIN, json=new_outcome(url=link))
        assert error_fields(assert_problem(response, 422)) == {"url"}, link


async def test_a_link_is_at_most_2000_characters_as_sent(dialogue: Api) -> None:
    # A bare host is stored with a "/" added: the limit counts what the caller sent, as the
    # OpenAPI document's maxLength says.
    event = await create_event(dialogue)
    url = f"/v1/events/{event['id']}/outcomes"
    longest = "https://" + "a" * 1988 + ".org"
    assert len(longest) == 2000

    stored = await dialogue.post(url, role=Api.ADMIN, json=new_outcome(url=longest))
    refused = await dialogue.post(url, role=Api.ADMIN, json=new_outcome(url=longest + "g"))

    assert stored.status_code == 201, stored.text
    assert stored.json()["url"] == longest + "/"
    assert error_fields(assert_problem(refused, 422)) == {"url"}


async def test_outcome_fields_are_validated_by_name(dialogue: Api) -> None:
    event = await create_event(dialogue)

    response = await dialogue.post(
        f"/v1/events/{event['id']}/outcomes",
        role=Api.ADMIN,
        json=new_outcome(kind="photo", title={"fr": "Sans anglais"}, document_language="French"),
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"kind", "title", "document_language"}, problem


async def test_outcomes_of_an_unknown_event_are_404(dialogue: Api) -> None:
    assert_problem(
        await dialogue.post("/v1/events/999999999/outcomes", role=Api.ADMIN, json=new_outcome()),
        404,
    )
    assert_problem(await listed(dialogue, 999999999), 404)


# Reading


async def test_outcomes_are_listed_by_id_filtered_by_kind_and_paged(dialogue: Api) -> None:
    event = await create_event(dialogue)
    minutes = await add(dialogue, event["id"])
    report = await add(dialogue, event["id"], kind="report", url="https://example.org/r.pdf")
    slides = await add(dialogue, event["id"], kind="presentation", url="https://example.org/s")

    first = (await dialogue.get(f"/v1/events/{event['id']}/outcomes?limit=2")).json()
    second = (
        await dialogue.get(
            f"/v1/events/{event['id']}/outcomes?limit=2&cursor={first['next_cursor']}"
        )
    ).json()
    reports = (await listed(dialogue, event["id"], "&kind=report")).json()["items"]

    assert [o["id"] for o in first["items"] + second["items"]] == [
        minutes["id"],
        report["id"],
        slides["id"],
    ]
    assert second["next_cursor"] is None
    assert [o["id"] for o in reports] == [report["id"]], reports


async def test_outcomes_of_a_private_event_are_hidden_from_anonymous_callers(
    dialogue: Api,
) -> None:
    event = await create_event(dialogue, public=False)
    outcome = await add(dialogue, event["id"])
    url = f"/v1/events/{event['id']}/outcomes/{outcome['id']}"

    assert_problem(await dialogue.get(url), 404)
    assert_problem(await listed(dialogue, event["id"]), 404)
    viewer = await dialogue.get(url, role=Api.VIEWER)
    assert viewer.status_code == 200, viewer.text
    assert viewer.headers["ETag"] == '"1"'


async def test_title_follows_accept_language(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])

    response = await dialogue.get(
        f"/v1/events/{event['id']}/outcomes/{outcome['id']}", headers={"Accept-Language": "fr"}
    )

    assert response.json()["title"] == "Compte rendu de la réunion", response.json()
    assert response.headers["Content-Language"] == "fr"


async def test_an_outcome_is_not_reachable_through_another_event(dialogue: Api) -> None:
    event = await create_event(dialogue)
    other = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])

    assert_problem(await dialogue.get(f"/v1/events/{other['id']}/outcomes/{outcome['id']}"), 404)
    assert_problem(
        await dialogue.delete(f"/v1/events/{other['id']}/outcomes/{outcome['id']}", role=Api.ADMIN),
        404,
    )


# Changing and removing


async def test_patch_changes_an_outcome_and_raises_its_version(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])

    response = await dialogue.patch(
        f"/v1/events/{event['id']}/outcomes/{outcome['id']}",
        headers={"If-Match": '"1"'},
        json={"kind": "recording", "url": "http://video.example.org/session-1"},
        **TUNIS_EDITOR,
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    changed = response.json()
    assert (changed["kind"], changed["url"]) == (
        "recording",
        "http://video.example.org/session-1",
    ), changed


async def test_patch_needs_if_match_and_refuses_a_stale_one(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])
    url = f"/v1/events/{event['id']}/outcomes/{outcome['id']}"

    missing = await dialogue.patch(url, role=Api.ADMIN, json={"kind": "report"})
    stale = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"5"'}, json={"kind": "report"}
    )

    assert_problem(missing, 428)
    assert_problem(stale, 412)
    assert (await dialogue.get(url)).json()["kind"] == "minutes"


async def test_a_patch_that_changes_nothing_keeps_the_etag(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])

    response = await dialogue.patch(
        f"/v1/events/{event['id']}/outcomes/{outcome['id']}",
        role=Api.ADMIN,
        headers={"If-Match": '"1"'},
        json={"kind": "minutes", "document_language": "fr"},
    )

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'


async def test_patch_refuses_a_javascript_url_and_null_fields(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])
    url = f"/v1/events/{event['id']}/outcomes/{outcome['id']}"

    script = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"url": "javascript:void(0)"}
    )
    null = await dialogue.patch(
        url, role=Api.ADMIN, headers={"If-Match": '"1"'}, json={"url": None}
    )

    assert error_fields(assert_problem(script, 422)) == {"url"}
    assert error_fields(assert_problem(null, 422)) == {"url"}


async def test_editor_of_another_city_cannot_change_or_remove_an_outcome(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])
    url = f"/v1/events/{event['id']}/outcomes/{outcome['id']}"

    patched = await dialogue.patch(
        url, headers={"If-Match": '"1"'}, json={"kind": "report"}, **LISBON_EDITOR
    )
    removed = await dialogue.delete(url, **LISBON_EDITOR)
    anonymous = await dialogue.delete(url)

    assert_problem(patched, 403)
    assert_problem(removed, 403)
    assert_problem(anonymous, 401)
    assert (await dialogue.get(url)).status_code == 200


async def test_editor_of_the_host_city_removes_an_outcome(dialogue: Api) -> None:
    event = await create_event(dialogue)
    outcome = await add(dialogue, event["id"])
    url = f"/v1/events/{event['id']}/outcomes/{outcome['id']}"

    stale = await dialogue.delete(url, headers={"If-Match": '"3"'}, **TUNIS_EDITOR)
    response = await dialogue.delete(url, headers={"If-Match": '"1"'}, **TUNIS_EDITOR)

    assert_problem(stale, 412)
    assert response.status_code == 204, response.text
    assert_problem(await dialogue.get(url), 404)
