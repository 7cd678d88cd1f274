"""How a batch is written: new keys inserted in file order, existing keys updated only where a
value differs, and a key repeated within the batch found however its rows meet the table."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import CSV_HEADER, Api, assert_problem, csv_file, observation

COLUMNS = CSV_HEADER.split(",")


def row(**cells: Any) -> str:
    """One CSV line of a Vienna figure (2019, municipality, a register source)."""
    values: dict[str, Any] = {
        "city": "ATVIE",
        "indicator": "foreign_nationals",
        "period": "2019",
        "scope": "municipality",
        "dimension": "",
        "value": 1000,
        "value_low": "",
        "value_high": "",
        "obs_status": "A",
        "source_title": "Wiener Bevölkerungsregister (write paths test)",
        "source_publisher": "Stadt Wien, MA 23",
        "source_url": "https://www.wien.gv.at/statistik/bevoelkerung/",
        "source_kind": "register",
        "note": "",
    }
    values.update(cells)
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow([values[column] for column in COLUMNS])
    return line.getvalue()


async def import_file(api: Api, data: bytes, **params: str) -> httpx.Response:
    return await api.post(
        "/v1/imports",
        content=data,
        params=params,
        headers={"Content-Type": "text/csv"},
        role=Api.ADMIN,
    )


async def imported(api: Api, data: bytes, **params: str) -> dict[str, Any]:
    response = await import_file(api, data, **params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def row_errors(response: httpx.Response) -> list[tuple[int, str]]:
    return [(error["row"], error["column"]) for error in response.json().get("errors") or []]


async def vienna(session: AsyncSession) -> list[tuple[Any, ...]]:
    """Vienna's write-path figures in id order: (id, period, scope, breakdown, value)."""
    rows = await session.execute(
        text(
            "SELECT o.id, o.period, o.scope, o.disaggregation, o.value "
            "FROM profiles.observation o JOIN profiles.source s ON s.id = o.source_id "
            "WHERE o.city_code = 'ATVIE' AND s.title LIKE '%(write paths test)' ORDER BY o.id"
        )
    )
    return [tuple(figure) for figure in rows]


async def history_count(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM profiles.observation_history")))


# --- keys repeated within a batch --------------------------------------------------------------


async def test_two_rows_repeating_an_existing_figure_unchanged_are_rejected_naming_both(
    api: Api, session: AsyncSession
) -> None:
    # Neither row changes the figure, so no write meets the other: the repetition is found
    # among the rows matched to existing figures.
    await imported(api, csv_file(row(value=1000)))
    before, history = await vienna(session), await history_count(session)

    response = await import_file(api, csv_file(row(value=1000), row(value=1000)))

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (3, "row"), error
    assert "row 2" in error["detail"], error
    assert await vienna(session) == before
    assert await history_count(session) == history


async def test_rows_repeating_an_existing_figure_unchanged_then_changed_are_rejected(
    api: Api, session: AsyncSession
) -> None:
    await imported(api, csv_file(row(value=1000)))
    before, history = await vienna(session), await history_count(session)

    response = await import_file(api, csv_file(row(value=1000), row(value=1200)))

    assert_problem(response, 422)
    assert row_errors(response) == [(3, "row")], response.text
    assert await vienna(session) == before, "a rejected file changed a figure"
    assert await history_count(session) == history


async def test_a_new_figure_repeated_beside_existing_ones_is_rejected_and_nothing_written(
    api: Api, session: AsyncSession
) -> None:
    await imported(api, csv_file(row(period="2018", value=900)))
    before, history = await vienna(session), await history_count(session)

    response = await import_file(
        api,
        csv_file(
            row(period="2018", value=950),  # 2: updates an existing figure
            row(period="2020", value=1000),  # 3: new
            row(period="2020", value=1001),  # 4: repeats row 3
        ),
    )

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (4, "row"), error
    assert "row 3" in error["detail"], error
    assert await vienna(session) == before, "a rejected file wrote something"
    assert await history_count(session) == history


async def test_a_dry_run_with_repeated_rows_reports_them_and_writes_nothing(
    api: Api, session: AsyncSession
) -> None:
    before, history = await vienna(session), await history_count(session)

    response = await import_file(
        api, csv_file(row(period="2020"), row(period="2020")), dry_run="true"
    )

    assert_problem(response, 422)
    assert row_errors(response) == [(3, "row")], response.text
    assert await vienna(session) == before
    assert await history_count(session) == history


async def test_a_batch_repeating_an_existing_unchanged_figure_is_rejected(api: Api) -> None:
    figure = observation(period="2017", value=150000)
    first = await api.post("/v1/observations", role=Api.ADMIN, json={"observations": [figure]})
    assert first.status_code == 200, first.text

    response = await api.post(
        "/v1/observations", role=Api.ADMIN, json={"observations": [figure, figure]}
    )

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["field"] == "observations.1", error
    assert "observations.0" in error["detail"], error


# --- new, changed and unchanged rows in one file -----------------------------------------------


async def test_a_reimport_inserts_new_rows_updates_changed_ones_and_keeps_the_rest(
    api: Api, session: AsyncSession
) -> None:
    await imported(api, csv_file(row(period="2018", value=900), row(period="2019", value=1000)))
    [(id_2018, *_), (id_2019, *_)] = await vienna(session)
    position = await session.scalar(text("SELECT coalesce(max(position), 0) FROM profiles.outbox"))

    report = await imported(
        api,
        csv_file(
            row(period="2021", value=1200),  # new
            row(period="2019", value=1100),  # changed
            row(period="2020", value=1050),  # new
            row(period="2018", value=900),  # unchanged
        ),
        reason="revision",
    )

    counts = {key: report[key] for key in ("rows", "inserted", "updated", "unchanged")}
    assert counts == {"rows": 4, "inserted": 2, "updated": 1, "unchanged": 1}, report
    figures = await vienna(session)
    assert [(period, value) for _, period, _, _, value in figures] == [
        ("2018", 900),
        ("2019", 1100),
        ("2021", 1200),
        ("2020", 1050),
    ], figures  # new figures take ids in the order of their rows, after the existing ones
    changes = await session.execute(
        text(
            "SELECT observation_id, change, (old -> 'value')::float AS old, "
            "(new -> 'value')::float AS new, "
            "reason FROM profiles.observation_history WHERE import_id = :import_id "
            "ORDER BY observation_id"
        ),
        {"import_id": report["import_id"]},
    )
    assert [tuple(change) for change in changes] == [
        (id_2019, "updated", 1000, 1100, "revision"),
        (figures[2][0], "created", None, 1200, "revision"),
        (figures[3][0], "created", None, 1050, "revision"),
    ]
    assert id_2018 == figures[0][0]
    [event] = (
        await session.execute(
            text("SELECT envelope FROM profiles.outbox WHERE position > :p"), {"p": position}
        )
    ).scalars()
    data = event["data"]
    assert [(key["period"], key["cities"]) for key in data["keys"]] == [
        ("2019", ["ATVIE"]),
        ("2020", ["ATVIE"]),
        ("2021", ["ATVIE"]),
    ], data  # the unchanged figure is not announced
    assert (data["inserted"], data["updated"]) == (2, 1), data


# --- ids in the order of the file --------------------------------------------------------------


def shuffled_rows(periods: range, seed: int, *, bump: bool = False) -> list[str]:
    """A row per period, sex and scope, in an order that is not the keys' order; its value
    the year (one more for even years if ``bump``)."""
    rows = [
        row(
            period=str(year),
            dimension=f"sex={sex}",
            scope=scope,
            value=year + (1 if bump and year % 2 == 0 else 0),
        )
        for year in periods
        for sex in ("F", "M")
        for scope in ("municipality", "metro")
    ]
    random.Random(seed).shuffle(rows)
    return rows


async def test_ids_follow_the_rows_of_a_file_spanning_many_pages(
    api: Api, session: AsyncSession
) -> None:
    rows = shuffled_rows(range(1801, 2201), seed=19)  # 1,600 rows: dozens of staging pages

    await imported(api, csv_file(*rows))

    expected = list(csv.reader(rows))
    written = [
        (period, scope, breakdown) for _, period, scope, breakdown, _ in await vienna(session)
    ]
    assert written == [(cells[2], cells[3], cells[4]) for cells in expected]


async def test_new_rows_among_existing_ones_get_ids_in_file_order(
    api: Api, session: AsyncSession
) -> None:
    await imported(api, csv_file(*shuffled_rows(range(1801, 2001), seed=5)))
    existing = len(await vienna(session))
    # Half of these rows name figures that exist (one in two changed), half are new.
    rows = shuffled_rows(range(1901, 2101), seed=7, bump=True)

    report = await imported(api, csv_file(*rows))

    new = [cells for cells in csv.reader(rows) if int(cells[2]) > 2000]
    counts = {key: report[key] for key in ("inserted", "updated", "unchanged")}
    assert counts == {"inserted": 400, "updated": 200, "unchanged": 200}, report
    written = [
        (period, scope, breakdown)
        for _, period, scope, breakdown, _ in (await vienna(session))[existing:]
    ]
    assert written == [(cells[2], cells[3], cells[4]) for cells in new]


# --- checks remembered per distinct text -------------------------------------------------------


async def test_every_row_repeating_a_bad_period_or_scope_is_reported(api: Api) -> None:
    # Each distinct period and scope is checked once when valid; a bad one is reported on
    # each row that repeats it, between valid rows.
    response = await import_file(
        api,
        csv_file(
            row(period="2019-13"),
            row(period="2019"),
            row(period="2019-13", dimension="sex=F"),
            row(period="2020", scope="planet"),
            row(period="2020"),
            row(period="2021", scope="planet"),
        ),
    )
    assert_problem(response, 422)
    assert row_errors(response) == [(2, "period"), (4, "period"), (5, "scope"), (7, "scope")]
