"""The audit log of the profiles API: every write leaves an entry naming who, when, what and
the change, in the write's transaction; admins read it with filters and pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.schemas import CityCreate
from services.profiles_api.cities.service import create_city
from services.profiles_api.db import audit_log_table
from shared.auth import Principal, Role
from tests.factories import (
    Api,
    WriteWalk,
    assert_problem,
    audit_entries,
    csv_file,
    error_fields,
    if_match,
    new_challenge,
    new_city,
    new_source,
    observation,
    only_entry,
    request_id_of,
    unique_title,
)

LISBON_EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": ("PTLIS",)}


def vienna_row(value: int = 1000, title: str = "Wiener Bevölkerungsregister (audit)") -> str:
    return (
        f"ATVIE,foreign_nationals,2019,municipality,,{value},,,A,{title},Stadt Wien,"
        "https://www.wien.gv.at/statistik/,register,"
    )


def lisbon_register(**overrides: Any) -> dict[str, Any]:
    """A source of Lisbon's (a register) under a title no other test uses."""
    body = {
        "title": unique_title("Lisbon municipal register"),
        "publisher": "Câmara Municipal de Lisboa",
        "url": "https://www.lisboa.pt/",
        "kind": "register",
        **overrides,
    }
    return new_source(**body)


async def log(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/audit", role=Api.ADMIN, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


# What a write records


async def test_creating_a_source_records_the_caller_the_request_and_the_new_values(
    api: Api,
) -> None:
    body = lisbon_register()
    response = await api.post(
        "/v1/sources", json=body, headers={"X-Request-ID": "audit-create-1"}, **LISBON_EDITOR
    )
    assert response.status_code == 201, response.text

    entry = await only_entry(api, response)
    assert entry["request_id"] == "audit-create-1"
    assert (entry["actor"], entry["actor_role"]) == ("editor@test", "editor"), entry
    assert (entry["action"], entry["resource"]) == ("create", "source"), entry
    assert entry["resource_id"] == str(response.json()["id"]), entry
    assert entry["change"]["title"] == body["title"], entry
    assert entry["change"]["reliability_rank"] == 1, entry
    assert "version" not in entry["change"] and "created_at" not in entry["change"], entry
    occurred = datetime.fromisoformat(entry["occurred_at"])
    assert abs(occurred - datetime.now(UTC)) < timedelta(hours=1), occurred


async def test_changing_a_challenge_records_only_the_changed_fields_with_old_and_new(
    api: Api,
) -> None:
    created = await api.post(
        "/v1/cities/TNTUN/challenges", role=Api.ADMIN, json=new_challenge(priority="high")
    )
    assert created.status_code == 201, created.text
    challenge = created.json()

    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{challenge['id']}",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={"priority": "low", "theme": "housing"},
    )
    assert response.status_code == 200, response.text

    entry = await only_entry(api, response)
    assert (entry["action"], entry["resource"]) == ("update", "challenge"), entry
    assert entry["resource_id"] == str(challenge["id"]), entry
    assert entry["city"] == "TNTUN", entry
    assert entry["change"] == {"priority": ["high", "low"]}, entry


async def test_a_change_that_changes_nothing_records_nothing(api: Api) -> None:
    created = await api.post("/v1/cities/TNTUN/challenges", role=Api.ADMIN, json=new_challenge())
    challenge = created.json()

    response = await api.patch(
        f"/v1/cities/TNTUN/challenges/{challenge['id']}",
        role=Api.ADMIN,
        headers={"If-Match": created.headers["ETag"]},
        json={"priority": "high"},
    )
    assert response.status_code == 200, response.text

    assert await audit_entries(api, request_id_of(response)) == []


async def test_deleting_a_city_records_its_old_values(api: Api) -> None:
    created = await api.post("/v1/cities", role=Api.ADMIN, json=new_city())
    assert created.status_code == 201, created.text

    response = await api.delete("/v1/cities/GRATH", role=Api.ADMIN)
    assert response.status_code == 204, response.text

    entry = await only_entry(api, response)
    assert (entry["action"], entry["resource"], entry["resource_id"]) == (
        "delete",
        "city",
        "GRATH",
    ), entry
    assert entry["city"] == "GRATH", entry
    assert entry["change"]["names"] == {"en": "Athens", "fr": "Athènes", "el": "Αθήνα"}, entry
    assert entry["change"]["country"] == "GR", entry


async def test_withdrawing_an_observation_records_what_it_was_and_why(api: Api) -> None:
    written = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={"observations": [observation(period="2015", value=123456)]},
    )
    assert written.status_code == 200, written.text
    listed = await api.get(
        "/v1/observations", params={"city": "ITTRN", "indicator": "foreign_nationals"}
    )
    (observation_id,) = [o["id"] for o in listed.json()["items"] if o["period"] == "2015"]

    response = await api.delete(
        f"/v1/observations/{observation_id}", role=Api.ADMIN, params={"reason": "duplicate"}
    )
    assert response.status_code == 204, response.text

    entry = await only_entry(api, response)
    assert (entry["action"], entry["resource"], entry["resource_id"]) == (
        "delete",
        "observation",
        str(observation_id),
    ), entry
    assert entry["city"] == "ITTRN", entry
    assert entry["change"]["value"] == 123456, entry
    assert entry["change"]["reason"] == "duplicate", entry


async def test_an_import_is_one_entry_with_its_counts_and_import_id(api: Api) -> None:
    title = f"Wiener Register {uuid.uuid4().hex[:8]}"
    rows = [vienna_row(1000, title), vienna_row(2000, title).replace("2019", "2020")]
    response = await api.post(
        "/v1/imports",
        content=csv_file(*rows),
        headers={"Content-Type": "text/csv"},
        params={"reason": "annual update"},
        role=Role.admin,
    )
    assert response.status_code == 200, response.text
    result = response.json()

    entries = await audit_entries(api, request_id_of(response))
    imports = [e for e in entries if e["resource"] == "import"]
    assert len(imports) == 1, entries
    (entry,) = imports
    assert entry["action"] == "import" and entry["resource_id"] == result["import_id"], entry
    assert entry["city"] == "ATVIE", entry
    assert entry["change"] == {
        "received": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "sources_created": 1,
        "cities": ["ATVIE"],
        "indicators": ["foreign_nationals"],
        "reason": "annual update",
    }, entry
    # The source the file named is new: its creation is recorded too, no observation row is.
    (source,) = [e for e in entries if e["resource"] == "source"]
    assert source["action"] == "create" and source["change"]["title"] == title, source
    assert len(entries) == 2, entries


async def test_a_dry_run_import_records_nothing(api: Api) -> None:
    response = await api.post(
        "/v1/imports",
        content=csv_file(vienna_row(5000)),
        headers={"Content-Type": "text/csv"},
        params={"dry_run": "true"},
        role=Role.admin,
    )
    assert response.status_code == 200, response.text

    assert await audit_entries(api, request_id_of(response)) == []


async def test_a_refused_write_leaves_no_entry_even_for_what_it_wrote_before(api: Api) -> None:
    # The inline source is inserted before the duplicate rows are found; all is rolled back.
    source = {"title": f"Refused batch {uuid.uuid4().hex[:8]}", "kind": "survey"}
    same = observation(period="2016", source=source)
    response = await api.post(
        "/v1/observations", role=Api.ADMIN, json={"observations": [same, same]}
    )
    problem = assert_problem(response, 422)
    assert "observations.1" in error_fields(problem), problem

    assert await audit_entries(api, request_id_of(response)) == []
    sources = await api.get("/v1/sources", params={"q": source["title"]})
    assert sources.json()["items"] == [], sources.json()


async def test_a_forbidden_write_leaves_no_entry(api: Api) -> None:
    response = await api.post("/v1/cities/TNTUN/challenges", json=new_challenge(), **LISBON_EDITOR)
    assert_problem(response, 403)

    assert await audit_entries(api, request_id_of(response)) == []


async def test_a_section_status_change_is_recorded_as_the_status_old_and_new(api: Api) -> None:
    url = "/v1/cities/PTLIS/sections/education"
    written = await api.put(url, json={"narrative": {"en": "Schools."}}, **LISBON_EDITOR)
    assert written.status_code == 201, written.text

    response = await api.post(
        f"{url}/status",
        headers={"If-Match": written.headers["ETag"]},
        json={"status": "in_review"},
        **LISBON_EDITOR,
    )
    assert response.status_code == 200, response.text

    entry = await only_entry(api, response)
    assert (entry["action"], entry["resource"], entry["resource_id"], entry["city"]) == (
        "update",
        "section",
        "PTLIS/education",
        "PTLIS",
    ), entry
    assert entry["change"]["status"] == ["draft", "in_review"], entry


async def test_a_long_narrative_is_recorded_as_its_length_and_hash(api: Api) -> None:
    narrative = "Every resident may register with the health service. " * 40
    response = await api.put(
        "/v1/cities/PTLIS/sections/health",
        json={"narrative": {"en": narrative, "fr": "Court."}},
        **LISBON_EDITOR,
    )
    assert response.status_code == 201, response.text

    entry = await only_entry(api, response)
    recorded = entry["change"]["narrative"]
    assert recorded["fr"] == "Court.", recorded
    assert recorded["en"]["length"] == len(narrative), recorded
    assert len(recorded["en"]["sha256"]) == 64, recorded


async def test_changes_made_outside_a_request_are_the_systems(session: AsyncSession) -> None:
    admin = Principal(subject="seeder", role=Role.admin)
    await create_city(session, admin, CityCreate.model_validate(new_city(code="GRSKG")))

    row = (
        await session.execute(
            select(audit_log_table).where(
                audit_log_table.c.resource == "city", audit_log_table.c.resource_id == "GRSKG"
            )
        )
    ).one()
    assert (row.actor, row.actor_role, row.request_id) == ("system", None, None), row


# Reading the log


async def test_filters_select_entries_and_pages_go_newest_first(api: Api) -> None:
    marker = uuid.uuid4().hex[:8]
    ids = []
    for number in range(3):
        response = await api.post(
            "/v1/sources",
            json=lisbon_register(title=f"Audit page {marker} {number}"),
            headers={"X-Request-ID": f"page-{marker}"},
            **LISBON_EDITOR,
        )
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["id"]))
    challenge = await api.post("/v1/cities/TNTUN/challenges", role=Api.ADMIN, json=new_challenge())

    first = await log(api, request_id=f"page-{marker}", limit=2)
    assert [e["resource_id"] for e in first["items"]] == [ids[2], ids[1]], first
    second = await log(api, request_id=f"page-{marker}", limit=2, cursor=first["next_cursor"])
    assert [e["resource_id"] for e in second["items"]] == [ids[0]], second
    assert second["next_cursor"] is None

    by_resource = await log(api, resource="source", resource_id=ids[1])
    assert [e["resource_id"] for e in by_resource["items"]] == [ids[1]], by_resource
    by_city = await log(api, city="TNTUN", action="create", limit=1)
    assert by_city["items"][0]["resource_id"] == str(challenge.json()["id"]), by_city
    by_actor = await log(api, actor="editor@test", resource="source", limit=1000)
    assert set(ids) <= {e["resource_id"] for e in by_actor["items"]}, by_actor
    assert {e["actor"] for e in by_actor["items"]} == {"editor@test"}, by_actor
    now = datetime.now(UTC)
    recent = await log(
        api, request_id=f"page-{marker}", since=(now - timedelta(hours=1)).isoformat()
    )
    assert len(recent["items"]) == 3, recent
    future = await log(
        api, request_id=f"page-{marker}", since=(now + timedelta(hours=1)).isoformat()
    )
    assert future["items"] == [], future
    past = await log(api, request_id=f"page-{marker}", until=(now - timedelta(hours=1)).isoformat())
    assert past["items"] == [], past


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "rename"}, "action"),
        ({"city": "lisbon"}, "city"),
        ({"since": "2026-12-01T10:00:00"}, "since"),
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until"),
        ({"cursor": "nonsense"}, "cursor"),
    ],
)
async def test_a_bad_filter_is_422_naming_it(api: Api, params: dict[str, str], field: str) -> None:
    problem = assert_problem(await api.get("/v1/audit", role=Api.ADMIN, params=params), 422)
    assert field in error_fields(problem), problem


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ({"role": Api.VIEWER}, 403),
        ({"role": Api.EDITOR, "cities": ("PTLIS",)}, 403),
        ({}, 401),
    ],
)
async def test_only_admins_read_the_log(api: Api, caller: dict[str, Any], status: int) -> None:
    assert_problem(await api.get("/v1/audit", **caller), status)


# Every write path


async def walk_catalogue(api: Api, walk: WriteWalk) -> int:
    """A city, an indicator and a source created and changed; the source's id."""
    step = walk.step
    admin: dict[str, Any] = {"role": Api.ADMIN}
    city = await step(
        "POST /v1/cities",
        await api.post("/v1/cities", json=new_city(code="GRPAT"), **admin),
        "city",
        "GRPAT",
    )
    await step(
        "PATCH /v1/cities/{code}",
        await api.patch(
            "/v1/cities/GRPAT", json={"names": {"en": "Patras"}}, headers=if_match(city), **admin
        ),
        "city",
        "GRPAT",
    )
    indicator = await step(
        "POST /v1/indicators",
        await api.post(
            "/v1/indicators",
            json={
                "code": "audit_walk_places",
                "names": {"en": "Places"},
                "theme": "education",
                "unit": "count",
                "value_type": "integer",
                "population_concept": "residents",
                "aggregation": "sum",
            },
            **admin,
        ),
        "indicator",
        "audit_walk_places",
    )
    await step(
        "PATCH /v1/indicators/{code}",
        await api.patch(
            "/v1/indicators/audit_walk_places",
            json={"names": {"en": "Places in classes"}},
            headers=if_match(indicator),
            **admin,
        ),
        "indicator",
        "audit_walk_places",
    )
    source = await api.post("/v1/sources", json=lisbon_register(), **admin)
    source_id = source.json()["id"]
    await step("POST /v1/sources", source, "source", source_id)
    source = await step(
        "PATCH /v1/sources/{source_id}",
        await api.patch(
            f"/v1/sources/{source_id}",
            json={"publisher": "Lisboa"},
            headers=if_match(source),
            **admin,
        ),
        "source",
        source_id,
    )
    return int(source_id)


async def walk_figures(api: Api, walk: WriteWalk) -> None:
    """Figures written, withdrawn and imported."""
    step = walk.step
    admin: dict[str, Any] = {"role": Api.ADMIN}
    await step(
        "POST /v1/observations",
        await api.post(
            "/v1/observations", json={"observations": [observation(period="2014")]}, **admin
        ),
        "observation",
        None,
    )
    listed = await api.get("/v1/observations", params={"city": "ITTRN", "period_from": "2014"})
    (observation_id,) = [o["id"] for o in listed.json()["items"] if o["period"] == "2014"]
    await step(
        "DELETE /v1/observations/{observation_id}",
        await api.delete(f"/v1/observations/{observation_id}", params={"reason": "test"}, **admin),
        "observation",
        observation_id,
    )
    imported = await api.post(
        "/v1/imports",
        content=csv_file(vienna_row(7000, title=f"Walk {uuid.uuid4().hex[:8]}")),
        headers={"Content-Type": "text/csv"},
        **admin,
    )
    await step("POST /v1/imports", imported, "import", imported.json()["import_id"])


async def walk_narrative(api: Api, walk: WriteWalk) -> None:
    """A section and a challenge of the new city through their lifecycles."""
    step = walk.step
    admin: dict[str, Any] = {"role": Api.ADMIN}
    section_url = "/v1/cities/GRPAT/sections/synopsis"
    section = await step(
        "PUT /v1/cities/{code}/sections/{section}",
        await api.put(section_url, json={"narrative": {"en": "Patras."}}, **admin),
        "section",
        "GRPAT/synopsis",
    )
    section = await step(
        "POST /v1/cities/{code}/sections/{section}/status",
        await api.post(
            f"{section_url}/status",
            json={"status": "in_review"},
            headers=if_match(section),
            **admin,
        ),
        "section",
        "GRPAT/synopsis",
    )
    await step(
        "DELETE /v1/cities/{code}/sections/{section}",
        await api.delete(section_url, headers=if_match(section), **admin),
        "section",
        "GRPAT/synopsis",
    )
    challenge = await api.post("/v1/cities/GRPAT/challenges", json=new_challenge(), **admin)
    challenge_id = challenge.json()["id"]
    await step("POST /v1/cities/{code}/challenges", challenge, "challenge", challenge_id)
    challenge = await step(
        "PATCH /v1/cities/{code}/challenges/{challenge_id}",
        await api.patch(
            f"/v1/cities/GRPAT/challenges/{challenge_id}",
            json={"priority": "low"},
            headers=if_match(challenge),
            **admin,
        ),
        "challenge",
        challenge_id,
    )
    await step(
        "DELETE /v1/cities/{code}/challenges/{challenge_id}",
        await api.delete(
            f"/v1/cities/GRPAT/challenges/{challenge_id}", headers=if_match(challenge), **admin
        ),
        "challenge",
        challenge_id,
    )


async def walk_editions(api: Api, walk: WriteWalk) -> None:
    """An edition of Turin published and withdrawn (editions are never deleted: Turin keeps
    it, which is why the walk does not use the city it deletes)."""
    step = walk.step
    published = await api.post("/v1/cities/ITTRN/editions", role=Api.ADMIN)
    edition_id = published.json()["id"]
    await step("POST /v1/cities/{code}/editions", published, "edition", edition_id)
    await step(
        "POST /v1/editions/{edition_id}/withdrawal",
        await api.post(
            f"/v1/editions/{edition_id}/withdrawal", json={"reason": "walk"}, role=Api.ADMIN
        ),
        "edition",
        edition_id,
    )


async def walk_assessments(api: Api, walk: WriteWalk) -> None:
    """A framework version published, and Turin's assessment of it opened, answered and
    submitted (assessments are never deleted)."""
    step = walk.step
    admin: dict[str, Any] = {"role": Api.ADMIN}
    titles = {"en": "Walk", "fr": "Parcours", "ar": "مسار"}
    options = [
        {"code": "no", "titles": titles, "value": 0},
        {"code": "yes", "titles": titles, "value": 100},
    ]
    question = {"code": "q1", "titles": titles, "options": options}
    framework = {
        "code": "audit_walk",
        "version": "1.0",
        "titles": titles,
        "model": "The audit walk's own",
        "licence": "Written for the tests; not an original instrument.",
        "rankable": True,
        "evidence_required": False,
        "areas": [
            {
                "code": "a1",
                "titles": titles,
                "indicators": [{"code": "i1", "titles": titles, "questions": [question]}],
            }
        ],
    }
    await step(
        "POST /v1/assessment-frameworks",
        await api.post("/v1/assessment-frameworks", json=framework, **admin),
        "assessment_framework",
        "audit_walk/1.0",
    )
    body = {"framework": "audit_walk", "version": "1.0", "reference_date": "2026-06-30"}
    opened = await api.post("/v1/cities/ITTRN/assessments", json=body, **admin)
    assessment_id = opened.json()["id"]
    url = f"/v1/cities/ITTRN/assessments/{assessment_id}"
    await step("POST /v1/cities/{code}/assessments", opened, "assessment", assessment_id)
    await step(
        "PUT /v1/cities/{code}/assessments/{assessment_id}/answers/{question}",
        await api.put(
            f"{url}/answers/q1",
            json={"option": "yes"},
            headers={"If-None-Match": "*"},
            **admin,
        ),
        "assessment_answer",
        f"{assessment_id}/q1",
    )
    current = await api.get(url, **admin)
    await step(
        "POST /v1/cities/{code}/assessments/{assessment_id}/status",
        await api.post(
            f"{url}/status", json={"status": "submitted"}, headers=if_match(current), **admin
        ),
        "assessment",
        assessment_id,
    )


async def walk_deletions(api: Api, walk: WriteWalk, source_id: int) -> None:
    """The source, the indicator and the city deleted."""
    step = walk.step
    admin: dict[str, Any] = {"role": Api.ADMIN}
    await step(
        "DELETE /v1/sources/{source_id}",
        await api.delete(f"/v1/sources/{source_id}", **admin),
        "source",
        source_id,
    )
    await step(
        "DELETE /v1/indicators/{code}",
        await api.delete("/v1/indicators/audit_walk_places", **admin),
        "indicator",
        "audit_walk_places",
    )
    await step(
        "DELETE /v1/cities/{code}",
        await api.delete("/v1/cities/GRPAT", **admin),
        "city",
        "GRPAT",
    )


async def test_every_write_operation_leaves_an_entry_naming_its_resource_and_id(
    api: Api, profiles_app: FastAPI
) -> None:
    """Every write operation of the API, each in its own request: the entry of that request
    names the resource and the id the response gave (batches of figures have none)."""
    walk = WriteWalk(api, profiles_app.openapi())
    source_id = await walk_catalogue(api, walk)
    await walk_figures(api, walk)
    await walk_narrative(api, walk)
    await walk_editions(api, walk)
    await walk_assessments(api, walk)
    await walk_deletions(api, walk, source_id)

    assert walk.missed == set(), f"write operations the walk does not go through: {walk.missed}"
