"""Scores computed in SQL from the answers, by the framework version's rules.

One statement recomputes every score of an assessment: questions → indicators → areas →
overall. At each level a group's score is the mean of its items that have one (arithmetic,
or weighted by the items' weights, as the framework says for that level): items without a
score drop out with their weights, so the weights are rescaled over the scored items
(COINr's ``a_amean``). An item is *applicable* unless it is not applicable (a question
answered so, or a group all of whose questions are); a group whose share of scored items
among its applicable ones is below the level's ``min_answered`` has no score, for
``insufficient_data`` (COINr's ``dat_thresh``); one without applicable items has none for
``not_applicable``. Every score carries its question counts (answered, unknown, not
applicable, total), so completeness is always shown beside it.

Called in the transaction of the answer that changes them: a client reads its new score
straight after its ``PUT``.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.frameworks.document import Aggregation, Scoring

#: One level's groups from their items (``{items}``: rows of code, parent, weight, score,
#: reason and the four counts). ``{aggregation}`` and ``{minimum}`` are bound per level.
_LEVEL = """
    SELECT g.code, g.parent_code AS parent, g.weight,
           sum(x.answered) AS answered, sum(x.unknown) AS unknown,
           sum(x.not_applicable) AS not_applicable, sum(x.total) AS total,
           count(*) FILTER (WHERE x.reason IS DISTINCT FROM 'not_applicable') AS applicable,
           count(x.score) AS scored,
           CASE WHEN :{level}_aggregation = 'weighted'
                THEN sum(x.score * x.weight)
                     / nullif(sum(x.weight) FILTER (WHERE x.score IS NOT NULL), 0)
                ELSE avg(x.score) END AS mean
    FROM profiles.assessment_framework_item g
    JOIN {items} x ON x.parent = g.code
    WHERE g.framework_id = :framework AND g.level = '{level}'
    GROUP BY g.code, g.parent_code, g.weight
"""

_RESULT = """
    SELECT code, parent, weight, answered, unknown, not_applicable, total,
           CASE WHEN applicable = 0 THEN NULL
                WHEN scored::float8 / applicable < :{level}_minimum THEN NULL
                ELSE mean END AS score,
           CASE WHEN applicable = 0 THEN 'not_applicable'
                WHEN scored::float8 / applicable < :{level}_minimum OR mean IS NULL
                THEN 'insufficient_data' END AS reason
    FROM {counts}
"""

_CLEAR = """
DELETE FROM profiles.assessment_score WHERE city_code = :city AND assessment_id = :assessment
"""

_RECOMPUTE = f"""
WITH questions AS (
    SELECT i.code, i.parent_code AS parent, i.weight,
           CASE WHEN a.state = 'option' THEN a.value END AS score,
           CASE WHEN a.state = 'not_applicable' THEN 'not_applicable' END AS reason,
           (a.state = 'option')::int AS answered,
           (a.state = 'unknown')::int AS unknown,
           (a.state = 'not_applicable')::int AS not_applicable,
           1 AS total
    FROM profiles.assessment_framework_item i
    LEFT JOIN profiles.assessment_answer a
      ON a.city_code = :city AND a.assessment_id = :assessment AND a.question_code = i.code
    WHERE i.framework_id = :framework AND i.level = 'question'
),
questions_counted AS (
    SELECT code, parent, weight, score, reason,
           coalesce(answered, 0) AS answered, coalesce(unknown, 0) AS unknown,
           coalesce(not_applicable, 0) AS not_applicable, total
    FROM questions
),
indicator_counts AS ({_LEVEL.format(level="indicator", items="questions_counted")}),
indicators AS ({_RESULT.format(level="indicator", counts="indicator_counts")}),
area_counts AS ({_LEVEL.format(level="area", items="indicators")}),
areas AS ({_RESULT.format(level="area", counts="area_counts")}),
overall_counts AS (
    SELECT '' AS code, NULL::varchar AS parent, 1.0::float8 AS weight,
           sum(x.answered) AS answered, sum(x.unknown) AS unknown,
           sum(x.not_applicable) AS not_applicable, sum(x.total) AS total,
           count(*) FILTER (WHERE x.reason IS DISTINCT FROM 'not_applicable') AS applicable,
           count(x.score) AS scored,
           CASE WHEN :overall_aggregation = 'weighted'
                THEN sum(x.score * x.weight)
                     / nullif(sum(x.weight) FILTER (WHERE x.score IS NOT NULL), 0)
                ELSE avg(x.score) END AS mean
    FROM areas x
),
overall AS ({_RESULT.format(level="overall", counts="overall_counts")})
INSERT INTO profiles.assessment_score (
    assessment_id, city_code, level, code, parent_code, score, reason,
    answered, unknown, not_applicable, total
)
SELECT :assessment, :city, level, code, parent, score, reason,
       answered, unknown, not_applicable, total
FROM (
    SELECT 'overall' AS level, * FROM overall
    UNION ALL SELECT 'area', * FROM areas
    UNION ALL SELECT 'indicator', * FROM indicators
) AS computed
"""


async def recompute(
    session: AsyncSession, *, city: str, assessment: int, framework: int, scoring: Scoring
) -> None:
    """Replace the assessment's scores by those its answers give now."""
    rules: dict[str, object] = {}
    for level in ("indicator", "area", "overall"):
        rule = getattr(scoring, level)
        rules[f"{level}_aggregation"] = Aggregation(rule.aggregation).value
        rules[f"{level}_minimum"] = rule.min_answered
    await session.execute(text(_CLEAR), {"city": city, "assessment": assessment})
    await session.execute(
        text(_RECOMPUTE),
        {"city": city, "assessment": assessment, "framework": framework, **rules},
    )
