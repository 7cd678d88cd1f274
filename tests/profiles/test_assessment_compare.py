"""Cities' published assessments compared: one version on its own scores, several on the
questions they share (with a warning), ranks only where the framework allows them, each city's
series over time, the network's medians with their n, and the charts (every expectation
computed by hand)."""

from __future__ import annotations

from typing import Any

import pytest
import vl_convert

from services.profiles_api.assessment_compare.common import GivenAnswer, rescore
from services.profiles_api.frameworks.document import FrameworkDocument
from shared.auth import Role
from tests.factories import Api, assert_problem, error_fields, new_city
from tests.profiles.test_assessments import (
    URL_EVIDENCE,
    answer,
    move,
    publish,
    small_framework,
    token,
)

COMPARE = "/v1/assessments/compare"
FRAMEWORK = "test_framework"


def admin(api: Api) -> dict[str, str]:
    return token(api, "admin@network.test", role=Role.admin, cities=())


async def published_assessment(
    api: Api,
    city: str,
    answers: dict[str, str],
    *,
    framework: str = FRAMEWORK,
    version: str = "1.0",
    reference_date: str = "2026-06-30",
    publish_it: bool = True,
) -> dict[str, Any]:
    """An assessment of ``city`` with ``answers``, through the four-eyes review to published
    (submitted by an administrator, validated by an editor of the city)."""
    body = {"framework": framework, "version": version, "reference_date": reference_date}
    opened = await api.post(f"/v1/cities/{city}/assessments", json=body, headers=admin(api))
    assert opened.status_code == 201, opened.text
    assessment: dict[str, Any] = opened.json()
    for question, choice in answers.items():
        if choice in ("not_applicable", "unknown"):
            written = await answer(
                api, assessment, question, state=choice, evidence=[], who=admin(api)
            )
        else:
            written = await answer(
                api, assessment, question, choice, evidence=URL_EVIDENCE, who=admin(api)
            )
        assert written.status_code in (200, 201), f"{city} {question}: {written.text}"
    if publish_it:
        editor = token(api, f"editor@{city.lower()}.test", cities=(city,))
        for status, who in (("submitted", admin(api)), ("validated", editor)):
            moved = await move(api, assessment, status, who)
            assert moved.status_code == 200, moved.text
        moved = await move(api, assessment, "published", admin(api))
        assert moved.status_code == 200, moved.text
    return assessment


async def compared(api: Api, **params: str) -> dict[str, Any]:
    response = await api.get(COMPARE, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_city(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["city"]: row for row in body["cities"]}


def area_scores(row: dict[str, Any]) -> dict[str, float | None]:
    return {score["code"]: score["score"] for score in row["areas"]}


def medians(body: dict[str, Any]) -> dict[str, tuple[float | None, int]]:
    found = {m["area"]: (m["median"], m["n"]) for m in body["medians"]}
    found[""] = (body["overall_median"]["median"], body["overall_median"]["n"])
    return found


# Four cities on test_framework 1.0 (areas a: a1 [q1, q2], a2 [q3]; b (weight 3): b1 [q4,
# q5], b2 [q6]; indicators arithmetic, areas and overall weighted, half required).
FOUR = {
    # a1 100, a2 100 → a 100; b1 75, b2 100 → b 87.5; overall (100 + 3 * 87.5) / 4 = 90.625
    "PTLIS": {"q1": "yes", "q2": "yes", "q3": "yes", "q4": "yes", "q5": "partly", "q6": "yes"},
    # a1 50, a2 50 → a 50; b1 100, b2 0 → b 50; overall 50
    "ESMAD": {"q1": "yes", "q2": "no", "q3": "partly", "q4": "yes", "q5": "yes", "q6": "no"},
    # a1 75, a2 100 → a 87.5; b1 25, b2 50 → b 37.5; overall (87.5 + 112.5) / 4 = 50: a tie
    "FRLYS": {"q1": "yes", "q2": "partly", "q3": "yes", "q4": "partly", "q5": "no", "q6": "partly"},
    # a1 50, a2 0 → a 25; b unanswered: no score; overall from a alone (1 of 2 areas): 25
    "ITTRN": {"q1": "yes", "q2": "no", "q3": "no"},
}
ASKED = "ITTRN,FRLYS,ESMAD,PTLIS"


@pytest.fixture
async def four(api: Api) -> dict[str, dict[str, Any]]:
    assert (await publish(api, small_framework())).status_code == 201
    return {city: await published_assessment(api, city, answers) for city, answers in FOUR.items()}


async def test_one_version_is_compared_on_its_scores_ranked_with_ties_and_medians(
    api: Api, four: dict[str, dict[str, Any]]
) -> None:
    body = await compared(api, framework=FRAMEWORK, cities=ASKED)

    assert (body["basis"], body["versions"], body["ranked"]) == ("published", ["1.0"], True)
    assert body["framework"]["rankable"] is True
    # By rank; the tie shares rank 2 (in the order asked) and the next rank is 4.
    assert [(row["city"], row["rank"]) for row in body["cities"]] == [
        ("PTLIS", 1),
        ("FRLYS", 2),
        ("ESMAD", 2),
        ("ITTRN", 4),
    ]
    rows = by_city(body)
    assert [rows[c]["overall"]["score"] for c in ("PTLIS", "ESMAD", "FRLYS", "ITTRN")] == [
        90.625,
        50,
        50,
        25,
    ]
    assert area_scores(rows["PTLIS"]) == {"a": 100, "b": 87.5}
    assert area_scores(rows["FRLYS"]) == {"a": 87.5, "b": 37.5}
    assert area_scores(rows["ITTRN"]) == {"a": 25, "b": None}
    itt_b = rows["ITTRN"]["areas"][1]
    assert (itt_b["reason"], itt_b["answered"], itt_b["total"]) == ("insufficient_data", 0, 3)
    assert rows["ITTRN"]["overall"]["completeness"] == 0.5  # 3 of 6 questions
    assert rows["PTLIS"]["assessment"]["id"] == four["PTLIS"]["id"]
    # a: 25, 50, 87.5, 100 → (50 + 87.5) / 2; b: Turin has none, so over 3 cities.
    assert medians(body) == {"a": (68.75, 4), "b": (50, 3), "": (50, 4)}
    assert body["warnings"] == []


async def test_a_framework_that_is_not_rankable_keeps_the_order_asked_and_gives_no_rank(
    api: Api,
) -> None:
    cities = {"GRATH": "partial", "CYNIC": "complete", "MTMLA": "absent"}
    for code, name in (("GRATH", "Athens"), ("CYNIC", "Nicosia"), ("MTMLA", "Valletta")):
        made = await api.post(
            "/v1/cities", role=Api.ADMIN, json=new_city(code=code, names={"en": name})
        )
        assert made.status_code == 201, made.text
    document = (await api.get("/v1/assessment-frameworks/mgi_local/1.0")).json()["document"]
    questions = [
        q["code"] for a in document["areas"] for i in a["indicators"] for q in i["questions"]
    ]
    for city, option in cities.items():
        await published_assessment(
            api, city, dict.fromkeys(questions, option), framework="mgi_local"
        )

    body = await compared(api, framework="mgi_local", cities=",".join(cities))

    assert (body["ranked"], body["framework"]["rankable"]) == (False, False)
    # Asked: Athens (50), Nicosia (100), Valletta (0): never sorted by score, never ranked.
    assert [row["city"] for row in body["cities"]] == ["GRATH", "CYNIC", "MTMLA"]
    assert [row["rank"] for row in body["cities"]] == [None, None, None]
    assert [row["overall"]["score"] for row in body["cities"]] == [50, 100, 0]
    area_codes = [area["code"] for area in document["areas"]]
    assert medians(body) == {**dict.fromkeys(area_codes, (50, 3)), "": (50, 3)}

    chart = await api.get(
        f"{COMPARE}/chart", params={"framework": "mgi_local", "cities": "GRATH,CYNIC,MTMLA"}
    )
    spec = chart.json()
    bars = spec["layer"][0]["encoding"]
    assert bars["xOffset"]["sort"] == ["Athens", "Nicosia", "Valletta"]
    assert bars["color"]["sort"] == ["Athens", "Nicosia", "Valletta"]
    assert spec["usermeta"]["ranked"] is False
    assert "Not rankable" in spec["title"]["subtitle"][0]
    assert "rank" not in str(spec["encoding"]) and "sort" not in str(spec["encoding"]["y"])


async def test_different_versions_compare_on_their_common_questions_with_a_warning(
    api: Api,
) -> None:
    assert (await publish(api, small_framework())).status_code == 201
    newer = small_framework("1.1")
    # q1's "yes" is worth 90 now (no longer the same question), and b2 has a new q7.
    newer["areas"][0]["indicators"][0]["questions"][0]["options"][2]["value"] = 90
    newer["areas"][1]["indicators"][1]["questions"].append(
        {**newer["areas"][1]["indicators"][1]["questions"][0], "code": "q7"}
    )
    assert (await publish(api, newer)).status_code == 201
    # 1.0: a1 50, a2 50 → a 50; b 50; overall 50 as published.
    await published_assessment(api, "PTLIS", FOUR["ESMAD"])
    # 1.1: a1 (90 + 100) / 2 = 95, a2 100 → a 97.5; b1 50, b2 (100 + 0) / 2 = 50 → b 50;
    # overall (97.5 + 150) / 4 = 61.875 as published.
    await published_assessment(
        api,
        "ESMAD",
        {"q1": "yes", "q2": "yes", "q3": "yes", "q4": "partly", "q5": "partly", "q6": "yes"}
        | {"q7": "no"},
        version="1.1",
    )

    body = await compared(api, framework=FRAMEWORK, cities="PTLIS,ESMAD")

    assert (body["basis"], body["versions"]) == ("common_questions", ["1.0", "1.1"])
    [warning] = body["warnings"]
    assert warning["kind"] == "version_mismatch"
    assert warning["values"] == {"1.0": ["PTLIS"], "1.1": ["ESMAD"]}
    assert (warning["questions"], warning["areas"]) == (["q1", "q7"], ["a", "b"])
    assert set(warning["cities"]) == {"PTLIS", "ESMAD"}
    rows = by_city(body)
    # Over q2-q6 alone. Lisbon: a1 = q2 = 0, a2 50 → a 25; b 50; (25 + 150) / 4 = 43.75.
    assert area_scores(rows["PTLIS"]) == {"a": 25, "b": 50}
    assert rows["PTLIS"]["overall"]["score"] == 43.75
    # Madrid: a1 = q2 = 100, a2 100 → a 100; b1 50, b2 = q6 = 100 → b 75; (100 + 225) / 4.
    assert area_scores(rows["ESMAD"]) == {"a": 100, "b": 75}
    assert rows["ESMAD"]["overall"]["score"] == 81.25
    assert [(row["city"], row["rank"]) for row in body["cities"]] == [("ESMAD", 1), ("PTLIS", 2)]
    # The series keeps each assessment's own published score.
    assert rows["PTLIS"]["series"][0]["overall"] == 50
    assert rows["ESMAD"]["series"][0]["overall"] == 61.875
    assert medians(body) == {"a": (62.5, 2), "b": (62.5, 2), "": (62.5, 2)}

    # One version asked for: its assessments only, on their own scores.
    only = await compared(api, framework=FRAMEWORK, cities="PTLIS,ESMAD", version="1.0")
    assert (only["basis"], only["versions"]) == ("published", ["1.0"])
    assert [w["kind"] for w in only["warnings"]] == ["missing"]
    assert only["warnings"][0]["cities"] == ["ESMAD"]
    assert by_city(only)["PTLIS"]["overall"]["score"] == 50
    assert by_city(only)["ESMAD"]["assessment"] is None


async def test_a_city_over_time_is_a_series_and_the_latest_or_the_one_as_of_is_compared(
    api: Api,
) -> None:
    assert (await publish(api, small_framework())).status_code == 201
    no = dict.fromkeys(FOUR["PTLIS"], "no")
    older = await published_assessment(api, "PTLIS", no, reference_date="2024-06-30")
    latest = await published_assessment(api, "PTLIS", FOUR["PTLIS"], reference_date="2026-06-30")
    # A draft is not published: never in a comparison.
    await published_assessment(
        api, "PTLIS", FOUR["PTLIS"], reference_date="2027-01-01", publish_it=False
    )

    body = await compared(api, framework=FRAMEWORK, cities="PTLIS")
    [row] = body["cities"]
    assert [(e["id"], e["reference_date"], e["overall"], e["compared"]) for e in row["series"]] == [
        (latest["id"], "2026-06-30", 90.625, True),
        (older["id"], "2024-06-30", 0, False),
    ]
    assert row["assessment"]["id"] == latest["id"] and row["overall"]["score"] == 90.625

    as_of = await compared(api, framework=FRAMEWORK, cities="PTLIS", reference_date="2025-12-31")
    [row] = as_of["cities"]
    assert (row["assessment"]["id"], row["overall"]["score"]) == (older["id"], 0)
    assert [e["compared"] for e in row["series"]] == [False, True]

    before = await compared(api, framework=FRAMEWORK, cities="PTLIS", reference_date="2020-01-01")
    [row] = before["cities"]
    assert (row["assessment"], row["overall"], row["rank"]) == (None, None, None)
    assert [w["kind"] for w in before["warnings"]] == ["missing"]
    assert medians(before)[""] == (None, 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"framework": "no_such_framework", "cities": "PTLIS"}, "framework"),
        ({"framework": "mgi_local", "version": "9.9", "cities": "PTLIS"}, "version"),
        ({"framework": "mgi_local", "cities": "PTLIS,XXNOP"}, "cities"),
        ({"framework": "mgi_local", "cities": ","}, "cities"),
        ({"framework": "mgi_local", "cities": ",".join(f"X{i:04d}" for i in range(51))}, "cities"),
        ({"framework": "mgi_local", "cities": "PTLIS", "reference_date": "soon"}, "reference_date"),
        ({"cities": "PTLIS"}, "framework"),
    ],
)
@pytest.mark.parametrize("path", [COMPARE, f"{COMPARE}/chart"])
async def test_an_unknown_framework_version_or_city_is_a_422_naming_the_parameter(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    problem = assert_problem(await api.get(path, params=params), 422)

    assert error_fields(problem) == {field}, problem
    assert {error.get("location") for error in problem["errors"]} == {"query"}, problem


async def test_the_compare_chart_draws_areas_side_by_side_with_the_median_and_leaves_nulls_out(
    api: Api, four: dict[str, dict[str, Any]]
) -> None:
    response = await api.get(
        f"{COMPARE}/chart", params={"framework": FRAMEWORK, "cities": ASKED, "lang": "fr"}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == "fr"
    spec = response.json()
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "tick"]
    bars = {
        (v["city"], v["area"]): v["score"] for v in spec["data"]["values"] if v["kind"] == "city"
    }
    # Turin's b has no score: not a bar (never a 0), named in usermeta instead.
    assert ("ITTRN", "b") not in bars and bars[("ITTRN", "a")] == 25
    assert len(bars) == 7
    assert spec["usermeta"]["left_out"] == [
        {"city": "ITTRN", "area": "b", "reason": "insufficient_data"}
    ]
    ticks = {
        v["area"]: (v["score"], v["n"]) for v in spec["data"]["values"] if v["kind"] == "median"
    }
    assert ticks == {"a": (68.75, 4), "b": (50, 3)}
    # Rankable: the cities drawn by rank (ties as asked).
    assert spec["layer"][0]["encoding"]["xOffset"]["sort"] == [
        "Lisbonne",
        "Lyon",
        "Madrid",
        "Turin",
    ]
    assert spec["title"]["text"] == "Cadre d'essai : domaines comparés"
    assert "68,75" in spec["description"] and "pas de score" in spec["description"]
    assert vl_convert.vegalite_to_svg(spec).startswith("<svg")
    arabic = (
        await api.get(
            f"{COMPARE}/chart",
            params={"framework": FRAMEWORK, "cities": ASKED},
            headers={"Accept-Language": "ar"},
        )
    ).json()
    assert arabic["title"]["anchor"] == "end" and "مقارنة المجالات" in arabic["title"]["text"]


async def test_an_assessments_chart_sets_its_areas_against_the_network_median(
    api: Api, four: dict[str, dict[str, Any]]
) -> None:
    turin = four["ITTRN"]
    url = f"/v1/cities/ITTRN/assessments/{turin['id']}/chart"

    response = await api.get(url)

    assert response.status_code == 200, response.text
    spec = response.json()
    values = spec["data"]["values"]
    assert [(v["area"], v["score"]) for v in values if v["kind"] == "city"] == [("a", 25)]
    # The network: each city's latest published assessment of test_framework 1.0.
    medians_drawn = [(v["area"], v["score"], v["n"]) for v in values if v["kind"] == "median"]
    assert medians_drawn == [("a", 68.75, 4), ("b", 50, 3)]
    assert spec["usermeta"]["left_out"] == [
        {"city": "ITTRN", "area": "b", "reason": "insufficient_data"}
    ]
    assert "Turin" in spec["description"] and "68.75 (n = 4)" in spec["description"]
    assert vl_convert.vegalite_to_svg(spec).startswith("<svg")

    # A draft's chart is for token holders only.
    draft = await published_assessment(api, "PTLIS", {"q1": "yes"}, publish_it=False)
    draft_url = f"/v1/cities/PTLIS/assessments/{draft['id']}/chart"
    assert_problem(await api.get(draft_url), 401)
    seen = await api.get(draft_url, headers=admin(api))
    assert seen.status_code == 200 and seen.json()["usermeta"]["status"] == "draft"
    assert_problem(await api.get("/v1/cities/PTLIS/assessments/999999999/chart"), 404)


def test_the_common_question_rescoring_restates_the_sql_rules() -> None:
    """Over every question, the Python restatement gives the scores the SQL gives (as
    test_assessments.py's test_scores_follow_the_rules_of_each_level... computes them)."""
    document = FrameworkDocument.model_validate(small_framework())
    answers = {
        "q1": GivenAnswer("option", 100),
        "q2": GivenAnswer("option", 0),
        "q3": GivenAnswer("not_applicable", None),
        "q4": GivenAnswer("option", 50),
        "q5": GivenAnswer("unknown", None),
        "q6": GivenAnswer("option", 100),
    }
    every = {q.code for _, _, q in document.questions()}

    found = {(s.level, s.code): (s.score, s.reason) for s in rescore(document, every, answers)}

    assert found[("indicator", "a2")] == (None, "not_applicable")
    assert found[("area", "a")] == (50, None)
    assert found[("indicator", "b1")] == (50, None)
    assert found[("area", "b")] == (75, None)
    assert found[("overall", "")] == (68.75, None)
    # Without q6, b2 drops out of the tree: b from b1 alone.
    fewer = {(s.level, s.code): s.score for s in rescore(document, every - {"q6"}, answers)}
    assert ("indicator", "b2") not in fewer and fewer[("area", "b")] == 50
