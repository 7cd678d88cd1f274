"""Recomputing what is derived from the published figures, one indicator at a time, in SQL.

For an indicator, in one transaction: its derived values (if it has a formula), then its
network and regional aggregates (unless its rule is ``none``). Each is rebuilt whole: the
indicator's rows are deleted and written again from the observations, so a recomputation
repeated or interrupted leaves the same result (at-least-once jobs). An advisory lock per
indicator keeps two recomputations of the same indicator from interleaving.

The value of a city for a figure (indicator, period, scope, breakdown) is its *effective*
value: the preferred published value (best source reliability, then newest; values marked
missing are skipped), else the city's derived value for it. Each observation keeps its
source's rank (``reliability_rank``), so ``ix_observation_preference`` gives an indicator's
values in that order (indicator, period, scope, breakdown, city, rank, newest first) and the
choice is made without sorting.

A recomputation may be limited to some periods (those a write touched): only their derived
values and aggregates are deleted and written again. Nothing of one period depends on
another (formulas and weights match periods exactly), so this gives what a recomputation of
the whole indicator would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.aggregates.catalogue import WEIGHT_INDICATOR, Definition
from services.profiles_api.aggregates.formula_sql import formula_sql
from services.profiles_api.profiles.repository import RECENT_YEARS, years_before
from shared.contracts.themes import Theme

#: How network and regional totals combine the contributing cities' values.
AGGREGATES = {
    "sum": "sum(value)",
    "mean": "avg(value)",
    "weighted_mean": "sum(value * weight) / sum(weight)",
}


#: The index giving an indicator's observations in the order the preferred one is chosen.
PREFERENCE_INDEX = "ix_observation_preference"
#: The bound parameter ``periods`` (a text array) limiting a recomputation to some periods.
PERIODS = "CAST(:periods AS text[])"


def _in_periods(alias: str, periods: Sequence[str] | None) -> str:
    """A condition keeping ``alias``'s rows of ``periods`` (none: every period). One period
    (a write's usual case) is compared by equality: an index then gives its rows in order,
    which it does not for a list."""
    if periods is None:
        return ""
    if len(periods) == 1:
        return f"AND {alias}.period = ({PERIODS})[1]"
    return f"AND {alias}.period = ANY({PERIODS})"


def _effective(codes_parameter: str, periods: Sequence[str] | None = None) -> str:
    """CTEs ``published`` and ``effective``: one value per city and figure of the indicators
    listed in the bound array ``codes_parameter`` (of ``periods`` if given). The preferred
    published value is the first of its figure in ``ix_observation_preference``."""
    return f"""
    published AS (
        SELECT DISTINCT ON (o.indicator_code, o.period, o.scope, o.disaggregation, o.city_code)
               o.indicator_code, o.city_code, o.period, o.period_start, o.period_end, o.scope,
               o.disaggregation, o.dimensions, o.value, o.obs_status,
               o.id AS observation_id
        FROM profiles.observation o
        WHERE o.indicator_code = ANY(CAST(:{codes_parameter} AS text[]))
          AND o.value IS NOT NULL {_in_periods("o", periods)}
        ORDER BY o.indicator_code, o.period, o.scope, o.disaggregation, o.city_code,
                 o.reliability_rank, o.updated_at DESC, o.id DESC
    ),
    effective AS (
        SELECT p.*, false AS derived FROM published p
        UNION ALL
        SELECT d.indicator_code, d.city_code, d.period, d.period_start, d.period_end, d.scope,
               d.disaggregation, d.dimensions, d.value, CAST(NULL AS varchar(1)),
               CAST(NULL AS bigint), true
        FROM profiles.derived_value d
        WHERE d.indicator_code = ANY(CAST(:{codes_parameter} AS text[]))
          {_in_periods("d", periods)}
          AND NOT EXISTS (
              SELECT 1 FROM published p
              WHERE p.indicator_code = d.indicator_code AND p.city_code = d.city_code
                AND p.period = d.period AND p.scope = d.scope
                AND p.disaggregation = d.disaggregation
          )
    )"""


def _same_figure(alias: str, first: str = "i0") -> str:
    return " AND ".join(
        f"{alias}.{column} = {first}.{column}"
        for column in ("city_code", "period", "scope", "disaggregation")
    )


async def _count(session: AsyncSession, statement: str, parameters: dict[str, Any]) -> int:
    """Run ``statement`` (an INSERT … RETURNING 1) and count the rows it wrote."""
    written = await session.scalar(
        text(f"WITH written AS ({statement}) SELECT count(*) FROM written"), parameters
    )
    return int(written or 0)


async def lock_indicator(session: AsyncSession, code: str) -> None:
    """Hold the indicator's recomputation lock until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('profiles.aggregate:' || :code))"),
        {"code": code},
    )


async def recompute_derived(
    session: AsyncSession, definition: Definition, periods: Sequence[str] | None = None
) -> int:
    """Rebuild the derived values of ``definition`` from its inputs (of ``periods`` only, if
    given); how many were written.

    A value exists where every input has one for the same city, period, scope and breakdown,
    the breakdown's dimensions are all allowed by the derived indicator, and the formula
    gives a number (a division by zero gives none).
    """
    await session.execute(
        text(
            "DELETE FROM profiles.derived_value d WHERE d.indicator_code = :code "
            + _in_periods("d", periods)
        ),
        {"code": definition.code} | _periods(periods),
    )
    if definition.formula is None:
        return 0
    aliases = {code: f"i{position}" for position, code in enumerate(definition.inputs)}
    expression = formula_sql(
        definition.formula, {code: f"{alias}.value" for code, alias in aliases.items()}
    )
    joins = "\n".join(
        f"JOIN effective {alias} ON {alias}.indicator_code = :input_{position} "
        f"AND {_same_figure(alias)}"
        for position, alias in enumerate(aliases.values())
        if position > 0
    )
    inputs = ", ".join(
        f"jsonb_build_object('indicator', {alias}.indicator_code, 'value', {alias}.value, "
        f"'observation_id', {alias}.observation_id, 'obs_status', {alias}.obs_status)"
        for alias in aliases.values()
    )
    statement = f"""
        WITH {_effective("inputs", periods)},
        computed AS (
            SELECT i0.city_code, i0.period, i0.period_start, i0.period_end, i0.scope,
                   i0.disaggregation, i0.dimensions, {expression} AS value,
                   jsonb_build_array({inputs}) AS inputs
            FROM effective i0
            {joins}
            WHERE i0.indicator_code = :input_0
              AND NOT EXISTS (
                  SELECT 1 FROM jsonb_object_keys(i0.dimensions) AS k(name)
                  WHERE k.name <> ALL(CAST(:dimensions AS text[]))
              )
        )
        INSERT INTO profiles.derived_value (
            indicator_code, city_code, period, period_start, period_end, scope,
            disaggregation, dimensions, value, formula, inputs, computed_at
        )
        SELECT :code, city_code, period, period_start, period_end, scope, disaggregation,
               dimensions, value, :formula, inputs, now()
        FROM computed
        WHERE value IS NOT NULL
        ORDER BY city_code, period, scope, disaggregation
        RETURNING 1
    """
    parameters: dict[str, Any] = {
        "code": definition.code,
        "formula": definition.formula,
        "inputs": list(definition.inputs),
        "dimensions": list(definition.dimensions),
    }
    parameters |= {f"input_{position}": code for position, code in enumerate(definition.inputs)}
    return await _count(session, statement, parameters | _periods(periods))


def _periods(periods: Sequence[str] | None) -> dict[str, Any]:
    return {} if periods is None else {"periods": list(periods)}


def preferred_published(
    indicator_parameter: str, periods: Sequence[str] | None, *, totals_only: bool = False
) -> str:
    """Each city's preferred published value of each figure of the indicator named by the
    bound parameter (of ``periods`` if given; only totals if ``totals_only``): the first of
    its figure in ``PREFERENCE_INDEX``, which gives the rows in this order, so the
    choice is made as they are read. Ordered by period, scope, breakdown and city."""
    totals = "AND o.disaggregation = ''" if totals_only else ""
    return f"""
        SELECT DISTINCT ON (o.period, o.scope, o.disaggregation, o.city_code)
               o.city_code, o.period, o.period_start, o.period_end, o.scope, o.disaggregation,
               o.dimensions, o.value
        FROM profiles.observation o
        WHERE o.indicator_code = :{indicator_parameter} AND o.value IS NOT NULL
              {totals} {_in_periods("o", periods)}
        ORDER BY o.period, o.scope, o.disaggregation, o.city_code, o.reliability_rank,
                 o.updated_at DESC, o.id DESC"""


def _candidates(
    indicator_parameter: str,
    periods: Sequence[str] | None = None,
    *,
    derived: bool = True,
    totals_only: bool = False,
) -> str:
    """Each city's effective value of each figure of the indicator named by the bound
    parameter, with ``derived`` telling which are derived: its preferred published value,
    else (if ``derived``: an indicator with a formula) its derived one."""
    chosen = preferred_published(indicator_parameter, periods, totals_only=totals_only)
    published = f"SELECT p.*, false AS derived FROM ({chosen}) p"
    if not derived:
        return published
    totals = "AND d.disaggregation = ''" if totals_only else ""
    # The published values are read once: the derived ones look for theirs among them.
    return f"""
        WITH published AS ({chosen})
        SELECT p.*, false AS derived FROM published p
        UNION ALL
        SELECT d.city_code, d.period, d.period_start, d.period_end, d.scope, d.disaggregation,
               d.dimensions, d.value, true
        FROM profiles.derived_value d
        WHERE d.indicator_code = :{indicator_parameter} {totals} {_in_periods("d", periods)}
          AND NOT EXISTS (
              SELECT 1 FROM published p
              WHERE p.period = d.period AND p.scope = d.scope
                AND p.disaggregation = d.disaggregation AND p.city_code = d.city_code
          )"""


def _weights(periods: Sequence[str] | None) -> str:
    """For a weighted mean, the CTE ``weights``: each city's effective total population for
    the period and scope; only cities with a positive one contribute."""
    return f"""
    weights AS (
        SELECT c.city_code, c.period, c.scope, c.value
        FROM ({_candidates("weight_indicator", periods, totals_only=True)}) c
    ),"""


async def recompute_aggregates(
    session: AsyncSession, definition: Definition, periods: Sequence[str] | None = None
) -> int:
    """Rebuild the network and regional aggregates of ``definition`` (of ``periods`` only,
    if given); how many were written.

    Groups are the whole network and each region, per period, scope and breakdown. Each
    city contributes its effective value once; for a weighted mean only cities with a
    positive total population for the same period and scope contribute, weighted by it.

    The preferred values come in index order (no sort); the grouping sets then sort them
    once, by period, scope, breakdown and region, compared byte by byte (``COLLATE "C"``:
    the groups are the same, the comparisons cheaper). Groups are keyed by the period and
    breakdown text alone: the period's dates and the breakdown's dimensions follow from them
    and would cost a comparison (of jsonb) on every tie.
    """
    await session.execute(
        text(
            "DELETE FROM profiles.aggregate a WHERE a.indicator_code = :code "
            + _in_periods("a", periods)
        ),
        {"code": definition.code} | _periods(periods),
    )
    combine = AGGREGATES.get(definition.aggregation)
    if combine is None:  # `none`: these values do not add up across cities
        return 0
    weighted = definition.aggregation == "weighted_mean"
    weight_join = (
        "JOIN weights w ON w.city_code = e.city_code AND w.period = e.period "
        "AND w.scope = e.scope AND w.value > 0"
    )
    candidates = _candidates("code", periods, derived=definition.formula is not None)
    statement = f"""
        WITH {_weights(periods) if weighted else ""}
        contributions AS (
            SELECT e.city_code, c.region COLLATE "C" AS region, e.period COLLATE "C" AS period,
                   e.period_start, e.period_end, e.scope COLLATE "C" AS scope,
                   e.disaggregation COLLATE "C" AS disaggregation, e.dimensions, e.value,
                   e.derived,
                   {"w.value" if weighted else "CAST(NULL AS double precision)"} AS weight
            FROM ({candidates}) e
            JOIN profiles.city c ON c.code = e.city_code
            {weight_join if weighted else ""}
        )
        INSERT INTO profiles.aggregate (
            indicator_code, period, period_start, period_end, scope, disaggregation,
            dimensions, group_kind, region, rule, value, min_value, city_count, cities,
            derived_cities, weight_total, computed_at
        )
        SELECT :code, period, min(period_start), min(period_end), scope, disaggregation,
               CAST(min(CAST(dimensions AS text)) AS jsonb),
               CASE WHEN GROUPING(region) = 1 THEN 'network' ELSE 'region' END,
               coalesce(region, ''), :rule, {combine}, min(value), count(*),
               array_agg(city_code ORDER BY city_code),
               coalesce(array_agg(city_code ORDER BY city_code) FILTER (WHERE derived), '{{}}'),
               {"sum(weight)" if weighted else "NULL"}, now()
        FROM contributions
        GROUP BY GROUPING SETS (
            (period, scope, disaggregation), (period, scope, disaggregation, region)
        )
        RETURNING 1
    """
    parameters: dict[str, Any] = {"code": definition.code, "rule": definition.aggregation}
    if weighted:
        parameters["weight_indicator"] = WEIGHT_INDICATOR
    # Hash joins, and sorts in memory where they fit: guessing a handful of rows, the
    # planner would join a large indicator's values by nested loops.
    await session.execute(text("SET LOCAL enable_nestloop = off"))
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    written = await _count(session, statement, parameters | _periods(periods))
    await session.execute(text("RESET enable_nestloop"))
    await session.execute(text("RESET work_mem"))
    return written


async def recompute_coverage(
    session: AsyncSession,
    *,
    today: date,
    themes: list[str] | None = None,
    cities: list[str] | None = None,
) -> int:
    """Rebuild the coverage matrix for ``themes`` by ``cities`` (default: all); cells written.

    A cell counts the theme's indicators, those the city has a published value for, and
    those with a value for a period ending in the last five years (as the profile does).
    """
    since = years_before(today, RECENT_YEARS)
    city_filter = "AND o.city_code = ANY(CAST(:cities AS text[]))" if cities is not None else ""
    statement = f"""
        WITH themes AS (SELECT unnest(CAST(:themes AS text[])) AS theme),
        catalogue AS (
            SELECT t.theme, count(i.code) AS indicators
            FROM themes t LEFT JOIN profiles.indicator i ON i.theme = t.theme
            GROUP BY t.theme
        ),
        latest AS (
            SELECT o.city_code, i.theme, o.indicator_code, max(o.period_end) AS last_end
            FROM profiles.observation o
            JOIN profiles.indicator i ON i.code = o.indicator_code
            WHERE o.value IS NOT NULL AND i.theme = ANY(CAST(:themes AS text[])) {city_filter}
            GROUP BY o.city_code, i.theme, o.indicator_code
        ),
        cells AS (
            SELECT c.code AS city_code, k.theme, k.indicators,
                   count(l.indicator_code) AS with_data,
                   count(l.indicator_code)
                       FILTER (WHERE l.last_end >= CAST(:since AS date)) AS recent,
                   max(l.last_end) AS latest_period_end
            FROM profiles.city c
            CROSS JOIN catalogue k
            LEFT JOIN latest l ON l.city_code = c.code AND l.theme = k.theme
            {"WHERE c.code = ANY(CAST(:cities AS text[]))" if cities is not None else ""}
            GROUP BY c.code, k.theme, k.indicators
        )
        INSERT INTO profiles.coverage AS cell (
            city_code, theme, indicators, with_data, recent, latest_period_end, recent_since,
            computed_at
        )
        SELECT city_code, theme, indicators, with_data, recent, latest_period_end,
               CAST(:since AS date), now()
        FROM cells
        ORDER BY city_code, theme
        ON CONFLICT (city_code, theme) DO UPDATE SET
            indicators = EXCLUDED.indicators,
            with_data = EXCLUDED.with_data,
            recent = EXCLUDED.recent,
            latest_period_end = EXCLUDED.latest_period_end,
            recent_since = EXCLUDED.recent_since,
            computed_at = EXCLUDED.computed_at
        RETURNING 1
    """
    parameters: dict[str, Any] = {
        "themes": themes if themes is not None else [theme.value for theme in Theme],
        "since": since,
    }
    if cities is not None:
        parameters["cities"] = cities
    return await _count(session, statement, parameters)


@dataclass(frozen=True)
class Recomputed:
    """What recomputing one indicator wrote."""

    derived_rows: int
    aggregate_rows: int


async def recompute_indicator(
    session: AsyncSession,
    definition: Definition,
    *,
    timeout_seconds: int | None = None,
    periods: Sequence[str] | None = None,
) -> Recomputed:
    """Derived values first (aggregates read them), then aggregates, under the lock; of
    ``periods`` only if given (those a write touched), else of every period.

    ``timeout_seconds`` bounds each statement from here on, in place of the usual limit.
    """
    if timeout_seconds is not None:
        await session.execute(text(f"SET LOCAL statement_timeout = '{int(timeout_seconds)}s'"))
    await lock_indicator(session, definition.code)
    derived = await recompute_derived(session, definition, periods)
    aggregates = await recompute_aggregates(session, definition, periods)
    return Recomputed(derived_rows=derived, aggregate_rows=aggregates)


async def forget_indicator(session: AsyncSession, code: str) -> None:
    """Drop what was computed for an indicator no longer in the catalogue."""
    await lock_indicator(session, code)
    await session.execute(
        text("DELETE FROM profiles.derived_value WHERE indicator_code = :code"), {"code": code}
    )
    await session.execute(
        text("DELETE FROM profiles.aggregate WHERE indicator_code = :code"), {"code": code}
    )
