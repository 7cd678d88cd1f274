"""An assessment's submission, validation and publication are announced in the outbox, in the
transaction of the change; a publication carries the scores and the framework's indicators."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role
from shared.contracts.events import AssessmentPublished
from tests.factories import Api, outbox_position, outbox_since
from tests.profiles.test_assessments import answered, editor, move, open_assessment, token


async def test_each_step_of_the_review_is_announced_with_the_assessment(
    api: Api, session: AsyncSession
) -> None:
    assessment = await open_assessment(api, "mgi_local")
    await answered(api, assessment, {"rig_1a": "complete", "rig_1b": "partial"})
    ana, rui = editor(api, "ana@lisboa.test"), editor(api, "rui@lisboa.test")
    admin = token(api, "admin@network.test", role=Role.admin, cities=())
    position = await outbox_position(session)

    assert (await move(api, assessment, "submitted", ana)).status_code == 200
    assert (await move(api, assessment, "draft", rui, "Cite the plan")).status_code == 200
    assert (await move(api, assessment, "submitted", ana)).status_code == 200
    assert (await move(api, assessment, "validated", rui)).status_code == 200
    published = await move(api, assessment, "published", admin)
    assert published.status_code == 200, published.text

    events = [e for e in await outbox_since(session, position) if e["type"] != "audit"]
    assert [(e["type"], e["actor"]) for e in events] == [
        ("assessment.submitted", "ana@lisboa.test"),
        ("assessment.submitted", "ana@lisboa.test"),
        ("assessment.validated", "rui@lisboa.test"),
        ("assessment.published", "admin@network.test"),
    ], "a return to draft announces nothing"
    submitted = events[0]["envelope"]["data"]
    assert submitted == {
        "assessment_id": assessment["id"],
        "city": "PTLIS",
        "framework": {
            "code": "mgi_local",
            "version": "1.0",
            "titles": submitted["framework"]["titles"],
            "rankable": False,
        },
        "reference_date": "2026-06-30",
        "status": "submitted",
    }
    assert submitted["framework"]["titles"]["en"].startswith("Local migration governance")

    data = AssessmentPublished.model_validate(events[-1]["envelope"]["data"])
    assert data.status == "published"
    by_key = {(s.level, s.code): s for s in data.scores}
    public = published.json()
    assert public["status"] == "published"
    for read in public["scores"]:
        sent = by_key[(read["level"], read["code"])]
        assert (sent.score, sent.reason, sent.completeness, sent.parent) == (
            read["score"],
            read["reason"],
            read["completeness"],
            read["parent"],
        ), read
    services = by_key[("indicator", "rig_services")]
    assert (services.score, services.parent) == (75.0, "migrants_rights"), services
    indicators = {i.code: i for i in data.indicators}
    assert set(indicators) == {code for level, code in by_key if level == "indicator"}
    assert indicators["rig_services"].area == "migrants_rights"
    assert indicators["rig_services"].titles["fr"].startswith("Accès aux services")
