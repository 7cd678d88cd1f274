"""Editions: a city's profile frozen as published, byte for byte, with a recomputable hash."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
import rfc8785
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import (
    Api,
    assert_problem,
    error_fields,
    observation,
    outbox_position,
    outbox_since,
)

CITY = "ESMAD"
EDITOR: dict[str, Any] = {"role": Api.EDITOR, "cities": (CITY,)}


async def publish(api: Api, city: str = CITY, **caller: Any) -> dict[str, Any]:
    response = await api.post(f"/v1/cities/{city}/editions", **(caller or EDITOR))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["Location"] == f"/v1/editions/{body['id']}"
    return body


async def read(api: Api, edition_id: str) -> tuple[bytes, dict[str, Any]]:
    response = await api.get(f"/v1/editions/{edition_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["ETag"] == f'"{body["content_hash"]}"'
    return response.content, body


async def change(api: Api, url: str, body: dict[str, Any], method: str = "PATCH") -> None:
    """Change what ``url`` is, as an administrator, with the ETag read first."""
    etag = (await api.get(url, role=Api.ADMIN)).headers["ETag"]
    response = await api.request(method, url, role=Api.ADMIN, json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.text


async def republish_section(api: Api, code: str) -> None:
    url = f"/v1/cities/{CITY}/sections/{code}"
    await change(api, url, {"narrative": {"en": "Rewritten after the edition."}}, "PUT")
    for status in ("in_review", "published"):
        etag = (await api.get(url, role=Api.ADMIN)).headers["ETag"]
        moved = await api.post(
            f"{url}/status", role=Api.ADMIN, headers={"If-Match": etag}, json={"status": status}
        )
        assert moved.status_code == 200, moved.text


async def test_an_edition_is_numbered_by_city_and_year_and_its_hash_recomputes(
    api: Api, session: AsyncSession
) -> None:
    year = datetime.now(UTC).year
    first, second = await publish(api), await publish(api, role=Api.ADMIN)
    assert (first["id"], second["id"]) == (f"{CITY}-{year}-1", f"{CITY}-{year}-2")
    raw, body = await read(api, first["id"])
    snapshot = body["snapshot"]
    canonical = rfc8785.dumps(snapshot)
    assert hashlib.sha256(canonical).hexdigest() == body["content_hash"] == first["content_hash"]
    stored = await session.scalar(
        text("SELECT content FROM profiles.edition WHERE id = :id"), {"id": first["id"]}
    )
    assert stored is not None and stored.encode() == canonical
    assert canonical in raw  # the answer carries the stored bytes as they are
    assert snapshot["edition"] == {
        "id": first["id"],
        "city": CITY,
        "network": "MC2CM",
        "published_at": snapshot["edition"]["published_at"],
    }
    assert snapshot["city"]["names"]["en"] == "Madrid"
    assert snapshot["sections"] and snapshot["challenges"], snapshot
    assert {row["theme"] for row in snapshot["coverage"]} >= {"demography", "health"}
    foreign = [
        f
        for f in snapshot["figures"]
        if (f["indicator"], f["period"]) == ("foreign_nationals", "2017-07-01")
    ]
    assert [f["value"] for f in foreign if f["disaggregation"] == ""] == [405233], foreign
    assert snapshot["sources"][foreign[0]["source"]]["title"].startswith("MC2CM City Migration")
    listed = (await api.get(f"/v1/cities/{CITY}/editions?limit=1")).json()
    assert [item["id"] for item in listed["items"]] == [second["id"]]
    following = await api.get(f"/v1/cities/{CITY}/editions?cursor={listed['next_cursor']}")
    assert [item["id"] for item in following.json()["items"]] == [first["id"]]


async def test_no_later_change_of_any_source_data_alters_an_edition(api: Api) -> None:
    edition = await publish(api)
    before, body = await read(api, edition["id"])
    snapshot = body["snapshot"]
    foreign = next(f for f in snapshot["figures"] if f["indicator"] == "foreign_nationals")
    written = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={
            "observations": [
                observation(
                    city=CITY,
                    period="2017-07-01",
                    value=1,
                    source={
                        "title": "Padrón municipal 2017",
                        "url": "https://www.madrid.es/padron",
                    },
                ),
                observation(city=CITY, period="2024", value=2),
            ]
        },
    )
    assert written.status_code == 200, written.text
    await change(api, f"/v1/sources/{foreign['source']}", {"title": "Renamed source"})
    await change(api, "/v1/indicators/foreign_nationals", {"names": {"en": "Renamed"}})
    await change(api, f"/v1/cities/{CITY}", {"names": {"en": "Renamed city"}})
    challenge = snapshot["challenges"][0]["id"]
    await change(api, f"/v1/cities/{CITY}/challenges/{challenge}", {"priority": "low"})
    await republish_section(api, snapshot["sections"][0]["code"])

    after, _ = await read(api, edition["id"])
    assert after == before
    live = (await api.get(f"/v1/cities/{CITY}/profile")).json()
    assert live["city"]["name"] == "Renamed city"
    later = (await read(api, (await publish(api))["id"]))[1]
    assert later["content_hash"] != edition["content_hash"]
    assert later["snapshot"]["city"]["names"]["en"] == "Renamed city"


async def test_editions_are_published_by_the_citys_editors_and_admins_only(api: Api) -> None:
    url = f"/v1/cities/{CITY}/editions"
    assert_problem(await api.post(url), 401)
    assert_problem(await api.post(url, role=Api.EDITOR, cities=("PTLIS",)), 403)
    assert_problem(await api.post(url, role=Api.VIEWER), 403)
    assert_problem(await api.post("/v1/cities/XXABC/editions", role=Api.ADMIN), 404)
    assert (await api.get(url)).json()["items"] == []


async def test_an_unknown_or_malformed_edition_is_a_problem(api: Api) -> None:
    assert_problem(await api.get(f"/v1/editions/{CITY}-2026-99"), 404)
    problem = assert_problem(await api.get("/v1/editions/madrid-1"), 422)
    assert error_fields(problem) == {"edition_id"}, problem


async def test_an_edition_freezes_values_as_the_public_reads_them(api: Api) -> None:
    small = observation(city=CITY, period="2024", dimensions={"citizenship": "SY"}, value=3)
    written = await api.post("/v1/observations", role=Api.ADMIN, json={"observations": [small]})
    assert written.status_code == 200, written.text
    _, body = await read(api, (await publish(api, role=Api.ADMIN))["id"])
    [cell] = [
        f
        for f in body["snapshot"]["figures"]
        if (f["indicator"], f["period"], f["dimensions"])
        == ("foreign_nationals", "2024", {"citizenship": "SY"})
    ]
    assert (cell["value"], cell["status"]) == (None, "suppressed"), cell
    assert re.fullmatch(r"[0-9a-f]{64}", body["content_hash"])


async def test_a_publication_is_announced_as_edition_published(
    api: Api, session: AsyncSession
) -> None:
    position = await outbox_position(session)
    edition = await publish(api)
    [event] = await outbox_since(session, position)
    assert (event["type"], event["actor"]) == ("edition.published", "editor@test")
    data = event["envelope"]["data"]
    assert (data["edition_id"], data["city"], data["content_hash"]) == (
        edition["id"],
        CITY,
        edition["content_hash"],
    )
    assert datetime.fromisoformat(data["published_at"]) == datetime.fromisoformat(
        edition["published_at"]
    )


async def test_a_city_with_editions_cannot_be_deleted(api: Api) -> None:
    await publish(api, "ITTRN", role=Api.ADMIN)
    problem = assert_problem(await api.delete("/v1/cities/ITTRN", role=Api.ADMIN), 409)
    assert "editions" in problem["dependent"], problem


# Withdrawal


async def withdraw(api: Api, edition_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post(
        f"/v1/editions/{edition_id}/withdrawal",
        role=Api.ADMIN,
        json={"reason": "Mis-keyed", **body},
    )
    assert response.status_code == 200, response.text
    withdrawn: dict[str, Any] = response.json()
    return withdrawn


async def test_a_withdrawn_edition_is_gone_naming_its_reason_and_successor(api: Api) -> None:
    first, second, third = [await publish(api) for _ in range(3)]
    tombstone = await withdraw(api, first["id"])
    assert (tombstone["withdrawn"], tombstone["withdrawal_reason"]) == (True, "Mis-keyed")
    assert tombstone["successor"] == third["id"], tombstone
    problem = assert_problem(
        await api.get(f"/v1/editions/{first['id']}"), 410, instance=f"/v1/editions/{first['id']}"
    )
    assert (problem["reason"], problem["successor"]) == ("Mis-keyed", third["id"]), problem
    await withdraw(api, third["id"], successor=second["id"])
    problem = assert_problem(await api.get(f"/v1/editions/{third['id']}"), 410)
    assert problem["successor"] == second["id"], problem
    listed = (await api.get(f"/v1/cities/{CITY}/editions")).json()["items"]
    assert [(e["id"], e["withdrawn"]) for e in listed] == [
        (third["id"], True),
        (second["id"], False),
        (first["id"], True),
    ]


async def test_the_last_edition_withdrawn_has_no_successor(api: Api) -> None:
    edition = await publish(api)
    await withdraw(api, edition["id"])
    problem = assert_problem(await api.get(f"/v1/editions/{edition['id']}"), 410)
    assert problem["successor"] is None and "Mis-keyed" in problem["detail"], problem
    again = await api.post(
        f"/v1/editions/{edition['id']}/withdrawal", role=Api.ADMIN, json={"reason": "Twice"}
    )
    assert_problem(again, 409)


async def test_only_admins_withdraw_and_a_successor_is_another_edition_of_the_city(
    api: Api,
) -> None:
    edition, other = await publish(api), await publish(api, "ITTRN", role=Api.ADMIN)
    url = f"/v1/editions/{edition['id']}/withdrawal"
    assert_problem(await api.post(url, json={"reason": "x"}), 401)
    assert_problem(await api.post(url, json={"reason": "x"}, **EDITOR), 403)
    for successor in (other["id"], edition["id"], f"{CITY}-2020-7"):
        refused = await api.post(url, role=Api.ADMIN, json={"reason": "x", "successor": successor})
        assert error_fields(assert_problem(refused, 422)) == {"successor"}, successor
    assert error_fields(assert_problem(await api.post(url, role=Api.ADMIN, json={}), 422)) == {
        "reason"
    }
    await read(api, edition["id"])


# Changes


async def test_changes_list_values_sections_and_challenges_since_an_earlier_edition(
    api: Api,
) -> None:
    earlier = await publish(api)
    _, body = await read(api, earlier["id"])
    snapshot = body["snapshot"]
    written = await api.post(
        "/v1/observations",
        role=Api.ADMIN,
        json={"observations": [observation(city=CITY, period="2024", value=2)]},
    )
    assert written.status_code == 200, written.text
    section = snapshot["sections"][0]["code"]
    await republish_section(api, section)
    challenge = snapshot["challenges"][0]["id"]
    await change(api, f"/v1/cities/{CITY}/challenges/{challenge}", {"priority": "low"})
    later = await publish(api)

    response = await api.get(f"/v1/editions/{later['id']}/changes?since={earlier['id']}")
    assert response.status_code == 200, response.text
    changes = response.json()
    assert (changes["edition"], changes["since"], changes["city"]) == (
        later["id"],
        earlier["id"],
        CITY,
    )
    [added] = [v for v in changes["values"] if v["period"] == "2024"]
    assert (added["change"], added["indicator"], added["after"]["value"]) == (
        "added",
        "foreign_nationals",
        2,
    )
    assert added["before"] is None
    # The English text was rewritten (a PUT replaces the whole text: the others went).
    [rewritten] = changes["sections"]
    assert (rewritten["change"], rewritten["code"]) == ("changed", section), rewritten
    assert "en" in rewritten["languages"], rewritten
    [changed] = changes["challenges"]
    assert (changed["id"], changed["before"]["priority"], changed["after"]["priority"]) == (
        challenge,
        snapshot["challenges"][0]["priority"],
        "low",
    )
    back = (await api.get(f"/v1/editions/{earlier['id']}/changes?since={later['id']}")).json()
    assert [v["change"] for v in back["values"] if v["period"] == "2024"] == ["removed"]
    same = (await api.get(f"/v1/editions/{later['id']}/changes?since={later['id']}")).json()
    assert (same["values"], same["sections"], same["challenges"]) == ([], [], [])


async def test_changes_since_another_citys_or_an_unknown_edition_are_refused(api: Api) -> None:
    edition, turin = await publish(api), await publish(api, "ITTRN", role=Api.ADMIN)
    url = f"/v1/editions/{edition['id']}/changes"
    for since in (turin["id"], f"{CITY}-2020-9", "nonsense"):
        problem = assert_problem(await api.get(url, params={"since": since}), 422)
        assert error_fields(problem) == {"since"}, problem
    assert error_fields(assert_problem(await api.get(url), 422)) == {"since"}
    await withdraw(api, edition["id"])
    assert_problem(await api.get(url, params={"since": edition["id"]}), 410)


# Citation


async def cite(api: Api, edition_id: str, **kwargs: Any) -> Any:
    response = await api.get(f"/v1/editions/{edition_id}/citation", **kwargs)
    assert response.status_code == 200, response.text
    return response


async def test_the_citation_is_csl_json_by_default_with_every_element(api: Api) -> None:
    edition = await publish(api)
    response = await cite(api, edition["id"])
    assert response.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    [item] = response.json()
    jsonschema.validate([item], CSL_DATA_SUBSET)
    published = datetime.fromisoformat(edition["published_at"]).date()
    today = datetime.now(UTC).date()
    assert item["id"] == item["number"] == edition["id"]
    assert item["type"] == "report" and item["title"] == "City Migration Profile: Madrid"
    assert "MC2CM" in item["publisher"] and item["author"] == [{"literal": item["publisher"]}]
    assert item["issued"] == {"date-parts": [[published.year, published.month, published.day]]}
    assert item["accessed"] == {"date-parts": [[today.year, today.month, today.day]]}
    assert item["URL"].endswith(f"/v1/editions/{edition['id']}")
    assert edition["content_hash"] in item["note"]


async def test_the_citation_comes_as_bibtex_and_as_a_line_by_accept_or_format(api: Api) -> None:
    edition = await publish(api)
    year = datetime.fromisoformat(edition["published_at"]).year
    bib = await cite(api, edition["id"], headers={"Accept": "application/x-bibtex"})
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.startswith(f"@techreport{{{edition['id']},")
    for field in (f"year = {{{year}}}", f"number = {{{edition['id']}}}", edition["content_hash"]):
        assert field in bib.text, bib.text
    line = await cite(
        api, edition["id"], params={"format": "text"}, headers={"Accept-Language": "fr"}
    )
    assert line.headers["content-type"].startswith("text/plain")
    assert line.text.startswith(f"MC2CM ({year}). City Migration Profile: Madrid. Edition ")
    today = datetime.now(UTC).date().isoformat()
    assert edition["content_hash"] in line.text and f"accessed {today}" in line.text
    assert line.text.count("\n") == 1
    refused = await api.get(
        f"/v1/editions/{edition['id']}/citation", headers={"Accept": "image/png"}
    )
    assert_problem(refused, 406)
    assert_problem(await api.get(f"/v1/editions/{edition['id']}/citation?format=ris"), 422)


#: The part of the CSL 1.0.2 data schema (csl-data.json) a citation uses, written for this
#: test: the official schema is not available offline here.
CSL_DATE = {
    "type": "object",
    "properties": {
        "date-parts": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "integer"}},
        }
    },
    "required": ["date-parts"],
    "additionalProperties": False,
}
CSL_DATA_SUBSET = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "number"]},
            "type": {"enum": ["report", "webpage", "dataset", "document"]},
            "title": {"type": "string"},
            "author": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"literal": {"type": "string"}},
                    "additionalProperties": False,
                },
            },
            "publisher": {"type": "string"},
            "collection-title": {"type": "string"},
            "genre": {"type": "string"},
            "number": {"type": ["string", "number"]},
            "version": {"type": "string"},
            "issued": CSL_DATE,
            "accessed": CSL_DATE,
            "URL": {"type": "string"},
            "note": {"type": "string"},
        },
        "required": ["id", "type"],
        "additionalProperties": False,
    },
}


async def test_an_edition_keeps_the_citys_published_assessments_with_their_scores(
    api: Api,
) -> None:
    edition = await publish(api, "PTLIS", role=Api.EDITOR, cities=("PTLIS",))
    _, body = await read(api, edition["id"])
    live = (await api.get("/v1/cities/PTLIS/assessments")).json()["items"]

    [kept] = body["snapshot"]["assessments"]
    [published] = [a for a in live if a["status"] == "published"]
    assert kept["framework"]["code"] == "mgi_local" and kept["framework"]["rankable"] is False
    assert kept["reference_date"] == published["reference_date"]
    scores = {(s["level"], s["code"]): s for s in kept["scores"]}
    for score in published["scores"]:
        frozen = scores[(score["level"], score["code"])]
        assert (frozen["score"], frozen["answered"], frozen["total"]) == (
            pytest.approx(score["score"]) if score["score"] is not None else None,
            score["answered"],
            score["total"],
        )
    assert scores[("area", "migrants_rights")]["titles"]["ar"], scores[("area", "migrants_rights")]
