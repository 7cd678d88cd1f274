"""The dialogue's read model of profiles' published assessments, evidence citing an assessment
indicator, and a city's gaps with the recommendations that address them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.assessments.models import AssessmentIndicatorRef, AssessmentRef
from services.dialogue_api.assessments.service import apply_assessment_published
from shared.contracts.events import (
    AssessmentFramework,
    AssessmentIndicator,
    AssessmentPublished,
    AssessmentScore,
)
from tests.dialogue.factories import create_event, create_recommendation, new_recommendation
from tests.factories import Api, assert_problem, error_fields

MGI = AssessmentFramework(
    code="mgi_local", version="1.0", titles={"en": "Local profile", "fr": "Profil"}, rankable=False
)
SERVICES = {"en": "Access to local services", "fr": "Accès aux services locaux"}


def published(
    assessment_id: int,
    scores: dict[str, float | None],
    *,
    city: str = "JOAMM",
    reference_date: date = date(2026, 6, 30),
    framework: AssessmentFramework = MGI,
) -> AssessmentPublished:
    """A publication of ``city``'s assessment whose indicators score ``scores``."""
    return AssessmentPublished(
        assessment_id=assessment_id,
        city=city,
        framework=framework,
        reference_date=reference_date,
        status="published",
        published_at=datetime(2026, 12, 5, 12, tzinfo=UTC),
        scores=[
            AssessmentScore(level="overall", code="", score=40.0, completeness=0.5),
            *(
                AssessmentScore(
                    level="indicator",
                    code=code,
                    parent="rights",
                    score=score,
                    reason=None if score is not None else "insufficient_data",
                    completeness=1.0 if score is not None else 0.0,
                )
                for code, score in scores.items()
            ),
        ],
        indicators=[
            AssessmentIndicator(
                code=code, area="rights", titles=SERVICES if code == "rig_services" else {}
            )
            for code in scores
        ],
    )


def cites(indicator: str, city: str = "JOAMM", role: str = "motivates") -> dict[str, Any]:
    return {
        "city": city,
        "assessment": {"framework": "mgi_local", "indicator": indicator},
        "role": role,
    }


async def test_a_publication_applied_twice_is_kept_once(session: AsyncSession) -> None:
    event = published(9001, {"rig_services": 25.0, "rig_participation": None})
    assert await apply_assessment_published(session, event)
    assert not await apply_assessment_published(session, event)
    row = await session.get(AssessmentRef, 9001)
    assert row is not None
    assert (row.city_code, row.framework_code, row.framework_version, row.overall_score) == (
        "JOAMM",
        "mgi_local",
        "1.0",
        40.0,
    )
    indicators = (
        await session.scalars(
            select(AssessmentIndicatorRef)
            .where(AssessmentIndicatorRef.assessment_id == 9001)
            .order_by(AssessmentIndicatorRef.position)
        )
    ).all()
    assert [(i.code, i.score, i.reason, i.titles) for i in indicators] == [
        ("rig_services", 25.0, None, SERVICES),
        ("rig_participation", None, "insufficient_data", {}),
    ]


async def test_evidence_may_cite_an_indicator_of_a_published_assessment_of_its_city(
    dialogue: Api, session: AsyncSession
) -> None:
    await apply_assessment_published(session, published(9002, {"rig_services": 25.0}))
    event = await create_event(dialogue)
    catalogue = {"city": "JOAMM", "indicator": "foreign_nationals", "role": "motivates"}
    created = await create_recommendation(
        dialogue, event["id"], evidence=[catalogue, cites("rig_services")]
    )
    old, new = created["evidence"]
    # The catalogue's evidence reads as before, with its kind.
    assert (old["kind"], old["indicator"], old["assessment"]) == (
        "indicator",
        "foreign_nationals",
        None,
    )
    assert (new["kind"], new["indicator"], new["indicator_names"]) == ("assessment", None, None)
    assert new["assessment"] == {
        "framework": "mgi_local",
        "indicator": "rig_services",
        "titles": SERVICES,
        "assessment_id": 9002,
        "framework_version": "1.0",
        "reference_date": "2026-06-30",
        "score": 25.0,
        "completeness": 1.0,
    }

    # Added alone, and refused the second time.
    url = f"/v1/recommendations/{created['id']}/evidence"
    added = await dialogue.post(url, role=Api.ADMIN, json=cites("rig_services", role="measures"))
    assert added.status_code == 201, added.text
    again = await dialogue.post(url, role=Api.ADMIN, json=cites("rig_services", role="measures"))
    assert error_fields(assert_problem(again, 409)) == {"city", "assessment.indicator", "role"}


async def test_an_assessment_indicator_no_published_assessment_of_the_city_has_is_refused(
    dialogue: Api, session: AsyncSession
) -> None:
    await apply_assessment_published(session, published(9003, {"rig_services": 25.0}))
    event = await create_event(dialogue)
    for evidence, fields in (
        ([cites("no_such_indicator")], {"evidence.0.assessment.indicator"}),
        # Tunis has it; Amman has published no assessment.
        (
            [cites("rig_services"), cites("rig_services", "LBBEY")],
            {"evidence.1.assessment.indicator"},
        ),
        (
            [{"city": "JOAMM", "role": "motivates"}],
            {"evidence.0.indicator", "evidence.0.assessment"},
        ),
        (
            [{**cites("rig_services"), "indicator": "foreign_nationals"}],
            {"evidence.0.indicator", "evidence.0.assessment"},
        ),
    ):
        response = await dialogue.post(
            "/v1/recommendations",
            role=Api.ADMIN,
            json=new_recommendation(event["id"], evidence=evidence),
        )
        assert error_fields(assert_problem(response, 422)) == fields, evidence
    recommendation = await create_recommendation(dialogue, event["id"])
    response = await dialogue.post(
        f"/v1/recommendations/{recommendation['id']}/evidence",
        role=Api.ADMIN,
        json=cites("rig_participation"),
    )
    assert error_fields(assert_problem(response, 422)) == {"assessment.indicator"}


async def test_a_citys_gaps_come_from_its_latest_assessments_with_what_addresses_them(
    dialogue: Api, session: AsyncSession
) -> None:
    # An older assessment, the latest one, and another city's: only the latest of Tunis counts.
    await apply_assessment_published(
        session,
        published(9010, {"rig_services": 10.0, "rig_old": 0.0}, reference_date=date(2024, 1, 1)),
    )
    await apply_assessment_published(
        session,
        published(9011, {"rig_services": 25.0, "rig_participation": 50.0, "rig_na": None}),
    )
    await apply_assessment_published(session, published(9012, {"rig_services": 0.0}, city="LBBEY"))
    public = await create_event(dialogue)
    private = await create_event(dialogue, public=False)
    seen = await create_recommendation(dialogue, public["id"], evidence=[cites("rig_services")])
    hidden = await create_recommendation(
        dialogue, private["id"], evidence=[cites("rig_services", role="measures")]
    )

    response = await dialogue.get(
        "/v1/cities/JOAMM/assessment-gaps", headers={"Accept-Language": "fr"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["city"], body["threshold"]) == ("JOAMM", 50)
    [assessment] = body["assessments"]
    assert (assessment["assessment_id"], assessment["framework"], assessment["rankable"]) == (
        9011,
        "mgi_local",
        False,
    )
    assert assessment["framework_title"] == "Profil"
    # 50 is not below 50; an indicator without a score is no gap.
    [gap] = assessment["gaps"]
    assert (gap["indicator"], gap["score"], gap["title"]) == (
        "rig_services",
        25.0,
        "Accès aux services locaux",
    )
    assert [(r["id"], r["role"]) for r in gap["recommendations"]] == [(seen["id"], "motivates")]

    # A token sees the recommendations of events that are not public too.
    wider = await dialogue.get("/v1/cities/JOAMM/assessment-gaps?threshold=60", role=Api.VIEWER)
    [assessment] = wider.json()["assessments"]
    assert [g["indicator"] for g in assessment["gaps"]] == ["rig_services", "rig_participation"]
    assert [r["id"] for r in assessment["gaps"][0]["recommendations"]] == [
        seen["id"],
        hidden["id"],
    ]

    none = await dialogue.get("/v1/cities/ITTRN/assessment-gaps")
    assert none.status_code == 200 and none.json()["assessments"] == []
    assert_problem(await dialogue.get("/v1/cities/XXABC/assessment-gaps"), 404)
    refused = await dialogue.get("/v1/cities/JOAMM/assessment-gaps?threshold=101")
    assert error_fields(assert_problem(refused, 422)) == {"threshold"}


async def test_the_demo_links_a_gap_of_tunis_to_the_recommendation_that_answers_it(
    dialogue: Api,
) -> None:
    response = await dialogue.get("/v1/cities/TNTUN/assessment-gaps")

    assert response.status_code == 200, response.text
    [assessment] = response.json()["assessments"]
    gaps = {gap["indicator"]: gap for gap in assessment["gaps"]}
    # wog_2a partial (50) and wog_2b absent (0): 25, below 50 (services/profiles_api/demo).
    assert gaps["wog_coordination"]["score"] == 25
    [recommendation] = gaps["wog_coordination"]["recommendations"]
    cited = await dialogue.get(f"/v1/recommendations/{recommendation['id']}")
    assert "newcomers" in cited.json()["text"], cited.json()
