"""Assessments of different framework versions compared on the questions the versions share.

A question is *common* when every version compared has it, under the same indicator and
area, with the same weight and the same options (codes and values): only then does an answer
mean the same in each. Every compared assessment is then scored again over the common
questions alone, by one version's tree, rules and weights (the newest compared), so that
the scores differ by the answers only. The rules are those of ``assessments.scoring`` (the
SQL), restated over a smaller tree: a question left out is not in the tree at all (neither
scored nor applicable), a group left with no question drops out with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.profiles_api.frameworks.document import (
    Aggregation,
    FrameworkDocument,
    LevelRule,
)

NOT_APPLICABLE = "not_applicable"
INSUFFICIENT = "insufficient_data"


@dataclass(frozen=True)
class Rescored:
    """A group's score over the common questions (``level`` ``overall``, ``area`` or
    ``indicator``)."""

    level: str
    code: str
    weight: float
    score: float | None
    reason: str | None
    answered: int
    total: int


@dataclass(frozen=True)
class GivenAnswer:
    state: str  # option, not_applicable, unknown
    value: float | None


def _signatures(document: FrameworkDocument) -> dict[str, tuple[Any, ...]]:
    return {
        question.code: (
            area.code,
            indicator.code,
            question.weight,
            tuple((option.code, option.value) for option in question.options),
        )
        for area, indicator, question in document.questions()
    }


def common_questions(documents: Sequence[FrameworkDocument]) -> set[str]:
    """The questions every document has alike (same parents, weight and options)."""
    signatures = [_signatures(document) for document in documents]
    first, *others = signatures
    return {
        code
        for code, signature in first.items()
        if all(other.get(code) == signature for other in others)
    }


def _combine(
    level: str, code: str, weight: float, items: list[Rescored], rule: LevelRule
) -> Rescored:
    applicable = [item for item in items if item.reason != NOT_APPLICABLE]
    scored = [item for item in items if item.score is not None]
    answered = sum(item.answered for item in items)
    total = sum(item.total for item in items)
    if not applicable:
        return Rescored(level, code, weight, None, NOT_APPLICABLE, answered, total)
    if len(scored) / len(applicable) < rule.min_answered:
        return Rescored(level, code, weight, None, INSUFFICIENT, answered, total)
    mean: float | None
    if Aggregation(rule.aggregation) is Aggregation.weighted:
        weights = sum(item.weight for item in scored)
        mean = (
            sum(item.weight * item.score for item in scored if item.score is not None) / weights
            if weights
            else None
        )
    else:
        mean = (
            sum(item.score for item in scored if item.score is not None) / len(scored)
            if scored
            else None
        )
    if mean is None:
        return Rescored(level, code, weight, None, INSUFFICIENT, answered, total)
    return Rescored(level, code, weight, mean, None, answered, total)


def rescore(
    document: FrameworkDocument, keep: Iterable[str], answers: Mapping[str, GivenAnswer]
) -> list[Rescored]:
    """The overall, area and indicator scores of ``answers`` over the questions ``keep`` of
    ``document``'s tree, by its rules: overall first, then each area and its indicators."""
    kept = set(keep)
    rules = document.scoring
    areas: list[Rescored] = []
    indicators_of: dict[str, list[Rescored]] = {}
    for area in document.areas:
        indicators: list[Rescored] = []
        for indicator in area.indicators:
            questions: list[Rescored] = []
            for question in indicator.questions:
                if question.code not in kept:
                    continue
                given = answers.get(question.code)
                state = given.state if given else None
                questions.append(
                    Rescored(
                        "question",
                        question.code,
                        question.weight,
                        given.value if given and state == "option" else None,
                        NOT_APPLICABLE if state == NOT_APPLICABLE else None,
                        int(state == "option"),
                        1,
                    )
                )
            if questions:
                indicators.append(
                    _combine(
                        "indicator", indicator.code, indicator.weight, questions, rules.indicator
                    )
                )
        if indicators:
            areas.append(_combine("area", area.code, area.weight, indicators, rules.area))
            indicators_of[area.code] = indicators
    if not areas:
        return []
    result = [_combine("overall", "", 1.0, areas, rules.overall)]
    for area_score in areas:
        result.append(area_score)
        result.extend(indicators_of[area_score.code])
    return result
