"""A city's assessment through the worker: each step is mailed to the city's focal points who
consented to be contacted and sent to webhooks (validated against the OpenAPI document), and
the publication reaches the dialogue's read model, where a recommendation cites its gap."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.auth import Role
from shared.db import Database
from tests.dialogue.factories import create_event, create_person, create_recommendation
from tests.profiles.test_assessments import answer, move, open_assessment, token
from tests.waiting import eventually
from tests.worker.conftest import Platform
from tests.worker.notifying import smtp, until_settled
from tests.worker.receivers import SmtpSink, WebhookReceiver

pytestmark = pytest.mark.usefixtures("quiet")

CITY = "MATNG"
EVENTS = ("assessment.submitted", "assessment.validated", "assessment.published")


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


async def test_each_step_of_an_assessment_reaches_focal_points_webhooks_and_the_dialogue(
    platform: Platform, sink: SmtpSink, receiver: WebhookReceiver, quiet: Database
) -> None:
    reachable = await create_person(
        platform.dialogue, city=CITY, consent_contact=True, languages=["fr"]
    )
    private = await create_person(platform.dialogue, city=CITY, consent_contact=False)
    elsewhere = await create_person(platform.dialogue, city="TNTUN", consent_contact=True)
    subscribed = await platform.dialogue.post(
        "/v1/webhooks",
        role=Role.admin,
        json={"url": receiver.url, "event_types": list(EVENTS), "description": "assessments"},
    )
    assert subscribed.status_code == 201, subscribed.text
    receiver.secret = subscribed.json()["secret"]
    profiles = platform.profiles
    amal = token(profiles, "amal@tanger.test", cities=(CITY,))
    admin = token(profiles, "admin@network.test", role=Role.admin, cities=())

    async with platform.worker(**smtp(sink)):
        assessment = await open_assessment(profiles, "mgi_local", city=CITY)
        for question, option in (("rig_1a", "absent"), ("rig_1b", "partial")):
            answered = await answer(profiles, assessment, question, option, who=amal)
            assert answered.status_code == 201, answered.text
        for status, who in (("submitted", amal), ("validated", admin), ("published", admin)):
            response = await move(profiles, assessment, status, who)
            assert response.status_code == 200, response.text
        await eventually(lambda: len(sink.to(reachable["email"])) == 3)
        await eventually(lambda: len(receiver.received) == 3)
        await until_settled(quiet)

    title = assessment["framework"]["titles"]["fr"]
    assert {mail["Subject"] for mail in sink.to(reachable["email"])} == {
        f"Évaluation de Tanger {step} : {title}" for step in ("soumise", "validée", "publiée")
    }
    [published] = [m for m in sink.to(reachable["email"]) if "publiée" in m["Subject"]]
    body = published.get_body().get_content()
    assert f"/v1/cities/{CITY}/assessment-gaps" in body, body
    assert sink.to(private["email"]) == [] and sink.to(elsewhere["email"]) == []
    assert sorted(r.payload["type"] for r in receiver.received) == sorted(EVENTS)
    assert all(r.verified for r in receiver.received)

    # The dialogue keeps the publication: a recommendation may cite its gap.
    event = await create_event(platform.dialogue, host_city=CITY)
    cited = await create_recommendation(
        platform.dialogue,
        event["id"],
        target_cities=[CITY],
        evidence=[
            {
                "city": CITY,
                "assessment": {"framework": "mgi_local", "indicator": "rig_services"},
                "role": "motivates",
            }
        ],
    )
    gaps = await platform.dialogue.get(f"/v1/cities/{CITY}/assessment-gaps")
    assert gaps.status_code == 200, gaps.text
    [found] = [a for a in gaps.json()["assessments"] if a["assessment_id"] == assessment["id"]]
    [services] = [g for g in found["gaps"] if g["indicator"] == "rig_services"]
    assert services["score"] == 25.0
    assert [r["id"] for r in services["recommendations"]] == [cited["id"]]
