"""Governance assessments: versioned frameworks, answers with evidence, the four-eyes review,
and scores computed in SQL by each framework's rules (every expectation computed by hand)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from shared.auth import Role, issue_token
from tests.factories import Api, assert_problem, error_fields

CITY = "PTLIS"
URL_EVIDENCE = [{"kind": "url", "ref": "https://www.lisboa.pt/municipio/plano-municipal"}]


def token(
    api: Api, subject: str, role: Role = Role.editor, cities: tuple[str, ...] = (CITY,)
) -> dict[str, str]:
    """The Authorization header of a named person (the suite's roles share one subject)."""
    signed = issue_token(api.settings, subject=subject, role=role, cities=cities)
    return {"Authorization": f"Bearer {signed}"}


def editor(api: Api, name: str = "ana@lisboa.test") -> dict[str, str]:
    return token(api, name)


async def open_assessment(
    api: Api, framework: str, version: str = "1.0", *, city: str = CITY
) -> dict[str, Any]:
    response = await api.post(
        f"/v1/cities/{city}/assessments",
        json={"framework": framework, "version": version, "reference_date": "2026-06-30"},
        headers=token(api, "ana@lisboa.test", cities=(city,)),
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/cities/{city}/assessments/{response.json()['id']}"
    body: dict[str, Any] = response.json()
    return body


async def answer(
    api: Api,
    assessment: dict[str, Any],
    question: str,
    option: str | None = None,
    *,
    state: str = "option",
    evidence: list[dict[str, str]] | None = None,
    who: dict[str, str] | None = None,
) -> httpx.Response:
    """Answer (or answer again) a question as an editor, with the precondition each needs."""
    base = f"/v1/cities/{assessment['city']}/assessments/{assessment['id']}/answers/{question}"
    headers = dict(who or editor(api))
    current = await api.get(base, headers=headers)
    if current.status_code == 404:
        headers["If-None-Match"] = "*"
    else:
        headers["If-Match"] = current.headers["etag"]
    body: dict[str, Any] = {
        "state": state,
        "evidence": URL_EVIDENCE if evidence is None else evidence,
    }
    if option is not None:
        body["option"] = option
    return await api.put(base, json=body, headers=headers)


async def answered(api: Api, assessment: dict[str, Any], answers: dict[str, str]) -> None:
    """Each question given its option, or ``not_applicable`` / ``unknown``."""
    for question, choice in answers.items():
        if choice in ("not_applicable", "unknown"):
            response = await answer(api, assessment, question, state=choice, evidence=[])
        else:
            response = await answer(api, assessment, question, choice)
        assert response.status_code in (200, 201), f"{question}: {response.text}"


async def scores(api: Api, assessment: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    url = f"/v1/cities/{assessment['city']}/assessments/{assessment['id']}"
    response = await api.get(url, headers=editor(api))
    assert response.status_code == 200, response.text
    return {(s["level"], s["code"]): s for s in response.json()["scores"]}


def score(found: dict[tuple[str, str], dict[str, Any]], level: str, code: str = "") -> Any:
    return found[(level, code)]["score"]


async def document(api: Api, code: str) -> dict[str, Any]:
    response = await api.get(f"/v1/assessment-frameworks/{code}/1.0")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["document"]
    return body


def questions_of(doc: dict[str, Any], *areas: str) -> list[str]:
    return [
        question["code"]
        for area in doc["areas"]
        if area["code"] in areas
        for indicator in area["indicators"]
        for question in indicator["questions"]
    ]


# --- frameworks --------------------------------------------------------------------------------

TITLES = {"en": "T", "fr": "T", "ar": "ت"}


def options() -> list[dict[str, Any]]:
    return [
        {"code": "no", "titles": TITLES, "value": 0},
        {"code": "partly", "titles": TITLES, "value": 50},
        {"code": "yes", "titles": TITLES, "value": 100},
    ]


def question(code: str, weight: float = 1) -> dict[str, Any]:
    return {"code": code, "titles": TITLES, "weight": weight, "options": options()}


def small_framework(version: str = "1.0") -> dict[str, Any]:
    """Two areas (weights 1 and 3), arithmetic indicators, weighted areas and overall."""
    return {
        "code": "test_framework",
        "version": version,
        "titles": {"en": "Test framework", "fr": "Cadre d'essai", "ar": "إطار تجريبي"},
        "model": "None: a framework of the test suite",
        "licence": "Written for the tests; not an original instrument.",
        "rankable": True,
        "evidence_required": False,
        "scoring": {
            "indicator": {"aggregation": "arithmetic", "min_answered": 0.5},
            "area": {"aggregation": "weighted", "min_answered": 0.5},
            "overall": {"aggregation": "weighted", "min_answered": 0.5},
        },
        "areas": [
            {
                "code": "a",
                "titles": TITLES,
                "weight": 1,
                "indicators": [
                    {"code": "a1", "titles": TITLES, "questions": [question("q1"), question("q2")]},
                    # Its weight counts for nothing: indicators are combined arithmetically.
                    {"code": "a2", "titles": TITLES, "questions": [question("q3", weight=5)]},
                ],
            },
            {
                "code": "b",
                "titles": TITLES,
                "weight": 3,
                "indicators": [
                    {"code": "b1", "titles": TITLES, "questions": [question("q4"), question("q5")]},
                    {"code": "b2", "titles": TITLES, "questions": [question("q6")]},
                ],
            },
        ],
    }


async def publish(api: Api, body: dict[str, Any]) -> httpx.Response:
    return await api.post("/v1/assessment-frameworks", json=body, role=Api.ADMIN)


async def test_the_three_shipped_frameworks_are_published(api: Api) -> None:
    response = await api.get("/v1/assessment-frameworks")

    assert response.status_code == 200, response.text
    found = {f["code"]: f for f in response.json()["items"]}
    assert {"mipex_city", "icc_city", "mgi_local"} <= set(found)
    assert (found["mipex_city"]["areas"], found["icc_city"]["areas"]) == (8, 14)
    assert (found["mgi_local"]["areas"], found["mgi_local"]["rankable"]) == (6, False)
    for framework in found.values():
        assert "not the original" in (framework["model"] + framework["licence"]).lower()
    one = await api.get("/v1/assessment-frameworks/mgi_local/1.0")
    assert one.headers["etag"] == f'"{found["mgi_local"]["content_hash"]}"'


async def test_a_version_is_published_once_and_never_changes(api: Api) -> None:
    first = await publish(api, small_framework())
    assert first.status_code == 201, first.text
    assert first.headers["location"] == "/v1/assessment-frameworks/test_framework/1.0"

    again = await publish(api, small_framework())
    assert again.status_code == 200, again.text
    assert again.json()["content_hash"] == first.json()["content_hash"]

    changed = small_framework()
    changed["areas"][0]["indicators"][0]["questions"][0]["options"][2]["value"] = 90
    assert_problem(await publish(api, changed), 409)

    newer = await publish(api, {**changed, "version": "1.1"})
    assert newer.status_code == 201, newer.text
    kept = await api.get("/v1/assessment-frameworks/test_framework/1.0")
    assert kept.json()["content_hash"] == first.json()["content_hash"]
    value = kept.json()["document"]["areas"][0]["indicators"][0]["questions"][0]["options"][2]
    assert value["value"] == 100


def _broken(change: str) -> tuple[dict[str, Any], str]:
    body = small_framework()
    first_question = body["areas"][0]["indicators"][0]["questions"][0]
    if change == "duplicate_question":
        body["areas"][1]["indicators"][1]["questions"][0]["code"] = "q1"
        return body, "/areas/1/indicators/1/questions/0/code"
    if change == "option_above_100":
        first_question["options"][1]["value"] = 120
        return body, "/areas/0/indicators/0/questions/0/options/1/value"
    if change == "weights_sum_to_zero":
        for item in body["areas"][1]["indicators"]:
            item["weight"] = 0
        return body, "/areas/1/indicators"
    if change == "deeper_tree":
        first_question["questions"] = [question("q9")]
        return body, "/areas/0/indicators/0/questions/0/questions"
    if change == "missing_arabic_title":
        body["areas"][0]["titles"] = {"en": "T", "fr": "T"}
        return body, "/areas/0/titles"
    raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    [
        "duplicate_question",
        "option_above_100",
        "weights_sum_to_zero",
        "deeper_tree",
        "missing_arabic_title",
    ],
)
async def test_a_document_the_schema_refuses_is_named_by_its_json_pointer(
    api: Api, change: str
) -> None:
    body, pointer = _broken(change)

    problem = assert_problem(await publish(api, body), 422)

    assert pointer in {error.get("pointer") for error in problem["errors"]}, problem
    listed = await api.get("/v1/assessment-frameworks")
    assert "test_framework" not in {f["code"] for f in listed.json()["items"]}


# --- scoring -----------------------------------------------------------------------------------


async def test_scores_follow_the_rules_of_each_level_with_rescaling_and_thresholds(
    api: Api,
) -> None:
    assert (await publish(api, small_framework())).status_code == 201
    assessment = await open_assessment(api, "test_framework")
    found = await scores(api, assessment)
    # Nothing answered: no score anywhere, for want of data.
    assert {s["reason"] for s in found.values()} == {"insufficient_data"}
    assert found[("overall", "")]["total"] == 6 and found[("overall", "")]["completeness"] == 0

    await answered(api, assessment, {"q1": "yes", "q2": "no"})
    found = await scores(api, assessment)
    assert score(found, "indicator", "a1") == 50  # (100 + 0) / 2
    # a2's only question is unanswered: 0 of 1 below the half required.
    assert found[("indicator", "a2")]["reason"] == "insufficient_data"
    # a: 1 of its 2 indicators scored (the half is enough), rescaled over a1 alone.
    assert score(found, "area", "a") == 50
    assert found[("area", "b")]["reason"] == "insufficient_data"
    assert score(found, "overall") == 50  # 1 of 2 areas, rescaled over a

    await answered(
        api, assessment, {"q3": "not_applicable", "q4": "partly", "q5": "unknown", "q6": "yes"}
    )
    found = await scores(api, assessment)
    assert found[("indicator", "a2")]["reason"] == "not_applicable"
    assert score(found, "area", "a") == 50  # a2 left out: a1 alone
    # b1: q4 scored, q5 unknown still counts as applicable: 1 of 2, the half required.
    assert score(found, "indicator", "b1") == 50
    assert score(found, "indicator", "b2") == 100
    assert score(found, "area", "b") == 75  # weighted, equal indicator weights
    assert score(found, "overall") == 68.75  # (50 * 1 + 75 * 3) / 4
    overall = found[("overall", "")]
    assert (overall["answered"], overall["unknown"], overall["not_applicable"]) == (4, 1, 1)
    assert overall["completeness"] == round(4 / 6, 4)

    # The threshold: q4 unknown too leaves b1 with 0 of 2.
    await answered(api, assessment, {"q4": "unknown"})
    found = await scores(api, assessment)
    assert found[("indicator", "b1")]["reason"] == "insufficient_data"
    assert score(found, "area", "b") == 100  # b2 alone (1 of 2 indicators)
    assert score(found, "overall") == 87.5  # (50 * 1 + 100 * 3) / 4


async def test_a_group_whose_every_item_does_not_apply_has_no_score_for_that_reason(
    api: Api,
) -> None:
    assert (await publish(api, small_framework())).status_code == 201
    assessment = await open_assessment(api, "test_framework")
    await answered(
        api,
        assessment,
        {"q1": "not_applicable", "q2": "not_applicable", "q3": "not_applicable", "q6": "no"},
    )
    found = await scores(api, assessment)

    assert found[("area", "a")]["reason"] == "not_applicable"
    # b: b2 scored 0, b1 unanswered: 1 of 2; overall from b alone ("a" does not apply).
    assert (score(found, "area", "b"), score(found, "overall")) == (0, 0)
    assert found[("overall", "")]["reason"] is None


async def test_mipex_city_is_an_unweighted_mean_of_means(api: Api) -> None:
    doc = await document(api, "mipex_city")
    assessment = await open_assessment(api, "mipex_city")
    others = [area["code"] for area in doc["areas"]][3:]
    await answered(
        api,
        assessment,
        {
            "lab_1a": "yes",
            "lab_1b": "partly",  # lab_services: (100 + 50) / 2 = 75
            "lab_2a": "no",
            "lab_2b": "unknown",  # lab_skills: 0, from 1 of 2
            # lab_city_employer unanswered: no score
            "fam_1a": "yes",
            "fam_1b": "yes",  # fam_procedure: 100
            "fam_2a": "no",  # fam_arrival: 0, from 1 of 2
            **dict.fromkeys(questions_of(doc, *others), "not_applicable"),
        },
    )
    found = await scores(api, assessment)

    assert score(found, "indicator", "lab_services") == 75
    assert score(found, "indicator", "lab_skills") == 0
    assert found[("indicator", "lab_city_employer")]["reason"] == "insufficient_data"
    assert score(found, "area", "labour_market_mobility") == 37.5  # (75 + 0) / 2, 2 of 3
    assert score(found, "area", "family_reunification") == 50  # (100 + 0) / 2
    assert found[("area", "education")]["reason"] == "insufficient_data"
    # Areas 4 to 8 do not apply: 2 of the 3 applicable areas scored.
    assert score(found, "overall") == 43.75  # (37.5 + 50) / 2


async def test_icc_city_weights_its_indicators_equally(api: Api) -> None:
    doc = await document(api, "icc_city")
    assessment = await open_assessment(api, "icc_city")
    others = [area["code"] for area in doc["areas"]][2:]
    await answered(
        api,
        assessment,
        {
            "com_1a": "yes",
            "com_1b": "partly",  # com_strategy: 75
            "com_2a": "no",  # com_follow_up: 0, from 1 of 2
            "edu_1a": "yes",
            "edu_1b": "yes",  # edu_mixed_schools: 100
            "edu_2a": "unknown",  # edu_intercultural_learning: none (0 of 1)
            **dict.fromkeys(questions_of(doc, *others), "not_applicable"),
        },
    )
    found = await scores(api, assessment)

    assert score(found, "area", "commitment") == 37.5  # (75 * 1 + 0 * 1) / 2
    assert score(found, "area", "education") == 100  # rescaled over the scored indicator
    assert score(found, "overall") == 68.75  # (37.5 + 100) / 2
    assert found[("overall", "")]["unknown"] == 1


async def test_mgi_local_scores_a_profile_of_absent_partial_complete(api: Api) -> None:
    doc = await document(api, "mgi_local")
    assessment = await open_assessment(api, "mgi_local")
    others = [area["code"] for area in doc["areas"]][2:]
    await answered(
        api,
        assessment,
        {
            "rig_1a": "complete",
            "rig_1b": "partial",  # rig_services: 75
            "rig_2a": "absent",
            "rig_2b": "absent",  # rig_participation: 0
            **dict.fromkeys(questions_of(doc, "whole_of_government"), "partial"),
            **dict.fromkeys(questions_of(doc, *others), "not_applicable"),
        },
    )
    found = await scores(api, assessment)

    assert score(found, "area", "migrants_rights") == 37.5
    assert score(found, "area", "whole_of_government") == 50
    assert score(found, "overall") == 43.75
    listed = await api.get(f"/v1/cities/{CITY}/assessments", headers=editor(api))
    [read] = [a for a in listed.json()["items"] if a["id"] == assessment["id"]]
    assert read["framework"]["rankable"] is False


# --- answers -----------------------------------------------------------------------------------


async def test_evidence_must_name_what_exists_and_is_required_above_zero(api: Api) -> None:
    assessment = await open_assessment(api, "mgi_local")
    lyon = await api.get("/v1/observations?city=FRLYS&limit=1")
    lisbon = await api.get(f"/v1/observations?city={CITY}&limit=1")
    lyon_id = lyon.json()["items"][0]["id"]
    lisbon_item = lisbon.json()["items"][0]
    bad = [
        {"kind": "observation", "ref": str(lyon_id)},
        {"kind": "source", "ref": "999999999"},
        {"kind": "section", "ref": "no_such_section"},
        {"kind": "url", "ref": "javascript:alert(1)"},
        {"kind": "observation", "ref": "=1+1"},
        {"kind": "source", "ref": "²"},
    ]

    refused = assert_problem(await answer(api, assessment, "rig_1a", "complete", evidence=bad), 422)
    assert error_fields(refused) == {f"evidence.{i}.ref" for i in range(len(bad))}, refused
    missing = assert_problem(await answer(api, assessment, "rig_1a", "complete", evidence=[]), 422)
    assert error_fields(missing) == {"evidence"}
    wrong = assert_problem(await answer(api, assessment, "rig_1a", "always"), 422)
    assert error_fields(wrong) == {"option"}
    nothing = await api.get(
        f"/v1/cities/{CITY}/assessments/{assessment['id']}/answers", headers=editor(api)
    )
    assert nothing.json()["items"] == []

    # A "no" needs no evidence; a figure of the city, its source and a URL are evidence.
    assert (await answer(api, assessment, "rig_1b", "absent", evidence=[])).status_code == 201
    good = [
        {"kind": "observation", "ref": str(lisbon_item["id"])},
        {"kind": "source", "ref": str(lisbon_item["source"]["id"])},
        *URL_EVIDENCE,
    ]
    written = await answer(api, assessment, "rig_1a", "complete", evidence=good)
    assert written.status_code == 201, written.text
    assert [e["kind"] for e in written.json()["evidence"]] == ["observation", "source", "url"]
    assert written.json()["value"] == 100


async def test_the_first_answer_needs_if_none_match_and_later_ones_if_match(api: Api) -> None:
    assessment = await open_assessment(api, "mgi_local")
    url = f"/v1/cities/{CITY}/assessments/{assessment['id']}/answers/rig_1a"
    body = {"option": "partial", "evidence": URL_EVIDENCE}

    assert_problem(await api.put(url, json=body, headers=editor(api)), 428)
    stale = {**editor(api), "If-Match": '"1"'}
    assert_problem(await api.put(url, json=body, headers=stale), 412)
    first = await api.put(url, json=body, headers={**editor(api), "If-None-Match": "*"})
    assert first.status_code == 201, first.text
    assert first.headers["etag"] == '"1"'

    again = await api.put(url, json=body, headers={**editor(api), "If-None-Match": "*"})
    assert_problem(again, 412)
    assert_problem(await api.put(url, json=body, headers=editor(api)), 428)
    changed = {"option": "complete", "evidence": URL_EVIDENCE}
    second = await api.put(url, json=changed, headers={**editor(api), "If-Match": '"1"'})
    assert second.status_code == 200, second.text
    assert_problem(await api.put(url, json=body, headers={**editor(api), "If-Match": '"1"'}), 412)

    history = await api.get(
        f"/v1/cities/{CITY}/assessments/{assessment['id']}/history", headers=editor(api)
    )
    steps = [(c["kind"], c["question"]) for c in history.json()["items"]]
    assert steps == [("status", None), ("answer", "rig_1a"), ("answer", "rig_1a")]
    last = history.json()["items"][-1]
    assert (last["old"]["option"], last["new"]["option"]) == ("partial", "complete")


async def test_a_new_answer_changes_the_assessments_scores_and_etag_at_once(api: Api) -> None:
    assessment = await open_assessment(api, "mgi_local")
    url = f"/v1/cities/{CITY}/assessments/{assessment['id']}"
    before = await api.get(url, headers=editor(api))

    await answered(api, assessment, {"rig_1a": "complete", "rig_1b": "complete"})
    after = await api.get(url, headers={**editor(api), "If-None-Match": before.headers["etag"]})

    assert after.status_code == 200
    found = {(s["level"], s["code"]): s for s in after.json()["scores"]}
    assert found[("indicator", "rig_services")]["score"] == 100


# --- workflow ----------------------------------------------------------------------------------


async def move(
    api: Api,
    assessment: dict[str, Any],
    status: str,
    who: dict[str, str],
    comment: str | None = None,
) -> httpx.Response:
    url = f"/v1/cities/{assessment['city']}/assessments/{assessment['id']}"
    current = await api.get(url, headers=who)
    body: dict[str, Any] = {"status": status}
    if comment is not None:
        body["comment"] = comment
    return await api.post(
        f"{url}/status", json=body, headers={**who, "If-Match": current.headers["etag"]}
    )


async def test_four_eyes_the_one_who_submits_never_validates(api: Api) -> None:
    assessment = await open_assessment(api, "mgi_local")
    ana, rui = editor(api, "ana@lisboa.test"), editor(api, "rui@lisboa.test")
    admin = token(api, "admin@network.test", role=Role.admin, cities=())
    await answered(api, assessment, {"rig_1a": "partial"})
    url = f"/v1/cities/{CITY}/assessments/{assessment['id']}"

    assert (await move(api, assessment, "submitted", ana)).status_code == 200
    refused = assert_problem(await move(api, assessment, "validated", ana), 403)
    assert "four eyes" in refused["detail"].lower()
    # Answers change in drafts only.
    assert_problem(await answer(api, assessment, "rig_1b", "partial"), 409)
    # Back to draft needs a reason.
    assert error_fields(assert_problem(await move(api, assessment, "draft", rui), 422)) == {
        "comment"
    }
    assert (await move(api, assessment, "draft", rui, "Cite the 2025 plan")).status_code == 200

    # Submitted again by Rui: Ana, a second editor of the city, may validate now.
    assert (await move(api, assessment, "submitted", rui)).status_code == 200
    assert_problem(await move(api, assessment, "validated", rui), 403)
    assert_problem(await api.get(url), 401)  # not published: the public does not see it
    validated = await move(api, assessment, "validated", ana)
    assert validated.status_code == 200, validated.text
    assert (validated.json()["submitted_by"], validated.json()["validated_by"]) == (
        "rui@lisboa.test",
        "ana@lisboa.test",
    )
    assert (await move(api, assessment, "published", admin)).status_code == 200
    assert_problem(await move(api, assessment, "draft", admin, "Too late"), 409)

    public = await api.get(url)
    assert public.status_code == 200 and public.json()["status"] == "published"
    assert public.json()["validated_by"] is None  # who did what: token holders only
    history = await api.get(f"{url}/history")
    statuses = [c["status_to"] for c in history.json()["items"] if c["kind"] == "status"]
    assert statuses == ["draft", "submitted", "draft", "submitted", "validated", "published"]
    assert {c["actor"] for c in history.json()["items"]} == {None}
    [back] = [c for c in history.json()["items"] if c["comment"]]
    assert back["comment"] == "Cite the 2025 plan"


async def test_an_admin_may_validate_what_an_editor_submitted_but_not_their_own(
    api: Api,
) -> None:
    admin = token(api, "admin@network.test", role=Role.admin, cities=())
    assessment = await open_assessment(api, "mgi_local")
    assert (await move(api, assessment, "submitted", admin)).status_code == 200
    assert_problem(await move(api, assessment, "validated", admin), 403)
    assert (await move(api, assessment, "validated", editor(api))).status_code == 200


async def test_only_the_citys_editors_open_and_answer(api: Api) -> None:
    other = token(api, "leo@lyon.test", cities=("FRLYS",))
    body = {"framework": "mgi_local", "version": "1.0", "reference_date": "2026-06-30"}
    assert_problem(await api.post(f"/v1/cities/{CITY}/assessments", json=body, headers=other), 403)
    unknown = {**body, "version": "9.9"}
    refused = await api.post(f"/v1/cities/{CITY}/assessments", json=unknown, headers=editor(api))
    assert error_fields(assert_problem(refused, 422)) == {"framework"}
    assessment = await open_assessment(api, "mgi_local")
    assert_problem(await answer(api, assessment, "rig_1a", "partial", who=other), 403)
    assert_problem(await answer(api, assessment, "no_such_question", "partial"), 404)


# --- gaps --------------------------------------------------------------------------------------


async def test_gaps_are_the_low_indicators_with_the_challenges_that_name_them(api: Api) -> None:
    need = {
        "theme": "employment",
        "need_type": "governance",
        "description": {"en": "Migrants' associations have no seat in any municipal body."},
        "assessment_indicators": [{"framework": "mgi_local", "indicator": "rig_participation"}],
    }
    created = await api.post(f"/v1/cities/{CITY}/challenges", json=need, headers=editor(api))
    assert created.status_code == 201, created.text
    assert created.json()["assessment_indicators"] == need["assessment_indicators"]
    unknown = {**need, "assessment_indicators": [{"framework": "mgi_local", "indicator": "nope"}]}
    refused = await api.post(f"/v1/cities/{CITY}/challenges", json=unknown, headers=editor(api))
    assert error_fields(assert_problem(refused, 422)) == {"assessment_indicators.0"}

    assessment = await open_assessment(api, "mgi_local")
    await answered(
        api,
        assessment,
        {
            "rig_1a": "complete",
            "rig_1b": "complete",  # rig_services: 100, not a gap
            "rig_2a": "absent",
            "rig_2b": "partial",  # rig_participation: 25
            "wog_1a": "partial",  # wog_institutions: 50 (from 1 of 2), not below 50
            "wog_2a": "unknown",  # wog_coordination: no score, not a gap
        },
    )
    url = f"/v1/cities/{CITY}/assessments/{assessment['id']}/gaps"
    gaps = (await api.get(url, headers=editor(api))).json()

    assert gaps["threshold"] == 50
    assert [(g["indicator"], g["score"]) for g in gaps["items"]] == [("rig_participation", 25)]
    [gap] = gaps["items"]
    assert gap["area"] == "migrants_rights" and gap["completeness"] == 1
    # Ours, and the demo's Lisbon challenge naming the same indicator; no other.
    named = await api.get(f"/v1/cities/{CITY}/challenges?limit=100")
    naming = [
        c["id"]
        for c in named.json()["items"]
        if {"framework": "mgi_local", "indicator": "rig_participation"}
        in c["assessment_indicators"]
    ]
    assert created.json()["id"] in naming
    assert [c["id"] for c in gap["challenges"]] == naming
    higher = (await api.get(f"{url}?threshold=60", headers=editor(api))).json()
    assert [g["indicator"] for g in higher["items"]] == ["rig_participation", "wog_institutions"]
    assert error_fields(
        assert_problem(await api.get(f"{url}?threshold=101", headers=editor(api)), 422)
    ) == {"threshold"}


def test_the_small_framework_is_valid_as_written() -> None:
    from services.profiles_api.frameworks.document import FrameworkDocument, check

    document = FrameworkDocument.model_validate(copy.deepcopy(small_framework()))
    assert check(document) == []


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
async def test_a_reference_date_outside_what_the_platform_means_is_refused(
    api: Api, day: str
) -> None:
    body = {"framework": "mgi_local", "version": "1.0", "reference_date": day}
    refused = await api.post(f"/v1/cities/{CITY}/assessments", json=body, headers=editor(api))
    assert error_fields(assert_problem(refused, 422)) == {"reference_date"}
