"""Assessments: a city takes stock of its migration governance against a framework version.

An editor of the city opens a draft for a published framework version and a reference date,
answers its questions with evidence, and submits it; someone else (an admin, or another
editor of the city: never the one who submitted) validates it; it is then published. Review
may send it back to draft with a comment. Every answer and status change is kept in its
history (and the audit log); the scores are recomputed in SQL with every answer, in its
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments import scoring
from services.profiles_api.assessments.announcements import announce
from services.profiles_api.assessments.evidence import check_evidence
from services.profiles_api.assessments.models import Answer, Assessment, AssessmentChange, Score
from services.profiles_api.assessments.repository import AssessmentRepository
from services.profiles_api.assessments.schemas import (
    TRANSITIONS,
    AnswerState,
    AnswerWrite,
    AssessmentCreate,
    AssessmentStatus,
    AssessmentTransition,
)
from services.profiles_api.cities.service import get_city
from services.profiles_api.frameworks.document import FrameworkDocument
from services.profiles_api.frameworks.models import Framework, FrameworkItem, FrameworkOption
from services.profiles_api.frameworks.service import get_framework
from shared.auth import Principal, ensure_city_editor
from shared.concurrency import check_if_match, etag
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
    invalid,
)
from shared.pagination import PageParams


async def list_assessments(
    session: AsyncSession, principal: Principal | None, city: str
) -> Sequence[tuple[Assessment, Framework]]:
    """A city's assessments: the published ones without a token, all of them with one."""
    await get_city(session, city)
    return await AssessmentRepository.from_session(session).for_city(
        city, published_only=principal is None
    )


async def get_assessment(
    session: AsyncSession, principal: Principal | None, city: str, assessment_id: int
) -> tuple[Assessment, Framework]:
    """An assessment, or 404; one not published yet needs a token (401)."""
    found = await AssessmentRepository.from_session(session).find(city, assessment_id)
    if found is None:
        raise NotFound(
            f"City {city} has no assessment {assessment_id}.", city=city, id=assessment_id
        )
    if principal is None and found[0].status != AssessmentStatus.published:
        raise Unauthorized("An assessment not published yet needs a bearer token.")
    return found


async def scores_of(session: AsyncSession, assessment: Assessment) -> list[Score]:
    return await AssessmentRepository.from_session(session).scores(
        assessment.city_code, assessment.id, assessment.framework_id
    )


async def create_assessment(
    session: AsyncSession, principal: Principal, city: str, payload: AssessmentCreate
) -> tuple[Assessment, Framework]:
    """Open a draft; its scores start as the framework's with no answer."""
    await get_city(session, city)
    ensure_city_editor(principal, city)
    try:
        framework = await get_framework(session, payload.framework, payload.version)
    except NotFound as exc:
        raise invalid("framework", f"{exc.detail}") from exc
    assessment = Assessment(
        city_code=city,
        framework_id=framework.id,
        reference_date=payload.reference_date,
        status=AssessmentStatus.draft.value,
        created_by=principal.subject,
        updated_by=principal.subject,
    )
    await AssessmentRepository.from_session(session).add(assessment)
    await _history(session, assessment, principal, kind="status", status_to="draft")
    await _rescore(session, assessment, framework)
    await session.refresh(assessment)
    return assessment, framework


async def _rescore(session: AsyncSession, assessment: Assessment, framework: Framework) -> None:
    document = FrameworkDocument.model_validate(framework.document)
    await scoring.recompute(
        session,
        city=assessment.city_code,
        assessment=assessment.id,
        framework=framework.id,
        scoring=document.scoring,
    )


async def _history(
    session: AsyncSession,
    assessment: Assessment,
    principal: Principal,
    *,
    kind: str,
    question: str | None = None,
    status_from: str | None = None,
    status_to: str | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    comment: str | None = None,
) -> None:
    session.add(
        AssessmentChange(
            city_code=assessment.city_code,
            assessment_id=assessment.id,
            kind=kind,
            question_code=question,
            status_from=status_from,
            status_to=status_to,
            old=old,
            new=new,
            comment=comment,
            actor=principal.subject,
        )
    )
    await session.flush()


async def get_answer(
    session: AsyncSession, principal: Principal | None, city: str, assessment_id: int, question: str
) -> Answer:
    await get_assessment(session, principal, city, assessment_id)
    answer = await AssessmentRepository.from_session(session).answer(city, assessment_id, question)
    if answer is None:
        raise NotFound(f"Question {question!r} is not answered yet.", question=question)
    return answer


async def _question(
    session: AsyncSession, framework: Framework, question: str
) -> dict[str, FrameworkOption]:
    """The question's options by code; 404 if the framework version has no such question."""
    found = await session.scalar(
        select(FrameworkItem.code).where(
            FrameworkItem.framework_id == framework.id,
            FrameworkItem.level == "question",
            FrameworkItem.code == question,
        )
    )
    if found is None:
        raise NotFound(
            f"Framework {framework.code} {framework.version} has no question {question!r}.",
            question=question,
        )
    options = await session.scalars(
        select(FrameworkOption).where(
            FrameworkOption.framework_id == framework.id,
            FrameworkOption.question_code == question,
        )
    )
    return {option.code: option for option in options}


def _check_preconditions(
    answer: Answer | None, *, if_match: str | None, if_none_match: str | None
) -> None:
    """The first answer is written with ``If-None-Match: *``, later ones with ``If-Match``
    naming the version read (as sections are)."""
    if answer is None:
        if if_match is not None and if_match.strip():
            raise PreconditionFailed(
                "The question is not answered yet: write its first answer with "
                "If-None-Match: * instead of If-Match."
            )
        if if_none_match is None or if_none_match.strip() != "*":
            raise PreconditionRequired(
                "Write a question's first answer with If-None-Match: *, so that two people "
                "answering at once do not overwrite each other."
            )
        return
    if if_none_match is not None and if_none_match.strip() == "*":
        raise PreconditionFailed(
            "The question is answered already: send If-Match with the ETag of its answer.",
            current_etag=etag(answer.version),
        )
    check_if_match(if_match, answer.version, resource="answer")


async def write_answer(
    session: AsyncSession,
    principal: Principal,
    city: str,
    assessment_id: int,
    question: str,
    payload: AnswerWrite,
    *,
    if_match: str | None,
    if_none_match: str | None,
) -> tuple[Answer, bool]:
    """Answer a question of a draft (or change its answer); returns it and whether it is new."""
    assessment, framework = await get_assessment(session, principal, city, assessment_id)
    ensure_city_editor(principal, city)
    if assessment.status != AssessmentStatus.draft:
        raise Conflict(
            f"The assessment is {assessment.status}: only a draft's answers change "
            "(send it back to draft first).",
            assessment_status=str(assessment.status),
        )
    options = await _question(session, framework, question)
    value: float | None = None
    if payload.state is AnswerState.option:
        if payload.option is None:
            raise invalid("option", "is required when state is option")
        chosen = options.get(payload.option)
        if chosen is None:
            raise invalid(
                "option",
                f"{payload.option!r} is not an option of {question} "
                f"(options: {', '.join(options)})",
            )
        value = chosen.value
    elif payload.option is not None:
        raise invalid("option", f"must be empty when state is {payload.state}")
    evidence = await check_evidence(session, city, payload.evidence)
    if framework.evidence_required and value is not None and value > 0 and not evidence:
        raise invalid(
            "evidence",
            "an answer scoring above 0 needs at least one piece of evidence in this framework",
        )
    repository = AssessmentRepository.from_session(session)
    answer = await repository.answer(city, assessment_id, question)
    _check_preconditions(answer, if_match=if_match, if_none_match=if_none_match)
    new = {
        "state": payload.state.value,
        "option": payload.option,
        "value": value,
        "comment": payload.comment,
        "evidence": evidence,
    }
    created = answer is None
    if answer is None:
        old = None
        answer = Answer(
            assessment_id=assessment_id,
            city_code=city,
            question_code=question,
            state=payload.state.value,
            option_code=payload.option,
            value=value,
            comment=payload.comment,
            evidence=evidence,
            updated_by=principal.subject,
        )
        await repository.add(answer)  # type: ignore[arg-type]
    else:
        old = _answer_json(answer)
        answer.state = payload.state
        answer.option_code = payload.option
        answer.value = value
        answer.comment = payload.comment
        answer.evidence = evidence
        answer.updated_by = principal.subject
        if not session.is_modified(answer):
            return answer, False
        answer.version += 1
        await repository.flush(resource="answer")
    await _history(
        session, assessment, principal, kind="answer", question=question, old=old, new=new
    )
    await _rescore(session, assessment, framework)
    # The assessment's representation holds the scores: a new answer is a new version of it.
    assessment.version += 1
    assessment.updated_by = principal.subject
    await repository.flush(resource="assessment")
    await session.refresh(answer)
    return answer, created


def _answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "state": str(answer.state),
        "option": answer.option_code,
        "value": answer.value,
        "comment": answer.comment,
        "evidence": answer.evidence,
    }


async def transition(
    session: AsyncSession,
    principal: Principal,
    city: str,
    assessment_id: int,
    payload: AssessmentTransition,
    *,
    if_match: str | None,
) -> tuple[Assessment, Framework]:
    """Move an assessment along draft → submitted → validated → published, or back to draft
    with a comment. Four eyes: whoever validates did not submit."""
    assessment, framework = await get_assessment(session, principal, city, assessment_id)
    ensure_city_editor(principal, city)
    check_if_match(if_match, assessment.version, resource="assessment")
    current = AssessmentStatus(assessment.status)
    target = payload.status
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: a published assessment is final"
        raise Conflict(
            f"A {current} assessment cannot become {target} (allowed: {allowed}).",
            status_from=current.value,
            status_to=target.value,
        )
    if target is AssessmentStatus.draft and payload.comment is None:
        raise invalid("comment", "say why the assessment goes back to draft")
    now = datetime.now(UTC)
    if target is AssessmentStatus.submitted:
        assessment.submitted_by, assessment.submitted_at = principal.subject, now
    elif target is AssessmentStatus.validated:
        if principal.subject == assessment.submitted_by:
            raise Forbidden(
                "Four eyes: the person who submitted an assessment may not validate it; an "
                "admin or another editor of the city validates.",
                submitted_by=assessment.submitted_by,
            )
        assessment.validated_by, assessment.validated_at = principal.subject, now
    elif target is AssessmentStatus.published:
        assessment.published_at = now
    else:
        assessment.submitted_by = assessment.submitted_at = None
        assessment.validated_by = assessment.validated_at = None
    assessment.status = target
    assessment.updated_by = principal.subject
    assessment.version += 1
    repository = AssessmentRepository.from_session(session)
    await repository.flush(resource="assessment")
    await _history(
        session,
        assessment,
        principal,
        kind="status",
        status_from=current.value,
        status_to=target.value,
        comment=payload.comment,
    )
    await announce(session, principal, assessment, framework)
    await session.refresh(assessment)
    return assessment, framework


async def history(
    session: AsyncSession,
    principal: Principal | None,
    city: str,
    assessment_id: int,
    page: PageParams,
) -> Sequence[AssessmentChange]:
    await get_assessment(session, principal, city, assessment_id)
    return await AssessmentRepository.from_session(session).history(city, assessment_id, page)


async def list_answers(
    session: AsyncSession, principal: Principal | None, city: str, assessment_id: int
) -> Sequence[Answer]:
    await get_assessment(session, principal, city, assessment_id)
    return await AssessmentRepository.from_session(session).answers(city, assessment_id)
