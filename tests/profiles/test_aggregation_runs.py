"""The run log of the worker's recomputations, read by administrators: the latest first,
each failed one with its error, filtered and paged like every list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role
from tests.factories import Api, assert_problem

OVERFLOW = "22003: value out of range: overflow"


async def record_runs(session: AsyncSession) -> None:
    """Three recomputations as the worker records them: one that failed between two that
    succeeded."""
    await session.execute(
        text(
            """
            INSERT INTO profiles.aggregation_run (
                indicator_code, trigger, requested_at, started_at, finished_at, derived_rows,
                aggregate_rows, coverage_rows, error
            ) VALUES
                ('reception_places', 'change', now() - interval '3 minutes',
                 now() - interval '170 seconds', now() - interval '169 seconds', 0, 4, 0, NULL),
                ('population', 'sweep', now() - interval '2 minutes',
                 now() - interval '100 seconds', now() - interval '99 seconds', 0, 0, 0,
                 :error),
                ('reception_places', 'change', now() - interval '1 minute',
                 now() - interval '50 seconds', now() - interval '49 seconds', 0, 4, 0, NULL)
            """
        ),
        {"error": OVERFLOW},
    )


async def runs(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/aggregation-runs", role=Role.admin, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_admins_read_the_failed_run_with_its_error_among_the_latest(
    api: Api, session: AsyncSession
) -> None:
    await record_runs(session)

    page = await runs(api, limit=3)

    latest = page["items"]
    assert [(run["indicator"], run["trigger"]) for run in latest] == [
        ("reception_places", "change"),
        ("population", "sweep"),
        ("reception_places", "change"),
    ], latest
    assert [run["error"] for run in latest] == [None, OVERFLOW, None], latest
    assert latest[1]["aggregate_rows"] == 0 and latest[0]["aggregate_rows"] == 4, latest
    assert latest[1]["requested_at"] < latest[1]["started_at"] < latest[1]["finished_at"]


async def test_runs_are_filtered_by_outcome_indicator_and_trigger_and_paged(
    api: Api, session: AsyncSession
) -> None:
    await record_runs(session)

    failed = await runs(api, failed="true", indicator="population,reception_places")
    succeeded = await runs(api, failed="false", indicator="reception_places", trigger="change")
    first = await runs(api, indicator="reception_places", limit=1)
    second = await runs(api, indicator="reception_places", limit=1, cursor=first["next_cursor"])

    assert [run["error"] for run in failed["items"]] == [OVERFLOW], failed
    assert [run["error"] for run in succeeded["items"]] == [None, None], succeeded
    assert first["next_cursor"] is not None, first
    assert second["items"][0]["id"] < first["items"][0]["id"], (first, second)


async def test_only_administrators_read_the_run_log(api: Api, session: AsyncSession) -> None:
    await record_runs(session)

    anonymous = await api.get("/v1/aggregation-runs")
    viewer = await api.get("/v1/aggregation-runs", role=Role.viewer)
    editor = await api.get("/v1/aggregation-runs", role=Role.editor, cities=("PTLIS",))

    assert_problem(anonymous, 401)
    assert OVERFLOW not in assert_problem(viewer, 403).get("detail", "")
    assert_problem(editor, 403)
