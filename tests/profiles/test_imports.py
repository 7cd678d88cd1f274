"""CSV imports: streamed, validated row by row, applied all or nothing, idempotent."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.demo.seed import FIGURES_FILE
from shared.auth import Role
from tests.factories import CSV_HEADER, Api, assert_problem, csv_file

#: The published figures beside the checkout (../shared/data), the same as the demo copy.
SHARED_FIGURES_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "city_figures.csv"
MADRID_SOURCE = {
    "source_title": "MC2CM City Migration Profile Madrid (city migration dashboard)",
    "source_publisher": "ICMPD MC2CM",
    "source_url": "https://www.imap-migration.org/urban/city-migration-dashboards/madrid",
    "source_kind": "mc2cm_profile",
}
COLUMNS = CSV_HEADER.split(",")


def row(**cells: Any) -> str:
    """One CSV line of a Vienna figure (2019, municipality, a new register source)."""
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
        "source_title": "Wiener Bevölkerungsregister (import test)",
        "source_publisher": "Stadt Wien, MA 23",
        "source_url": "https://www.wien.gv.at/statistik/bevoelkerung/",
        "source_kind": "register",
        "note": "",
    }
    values.update(cells)
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow([values[column] for column in COLUMNS])
    return line.getvalue()


async def chunked(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The body as a stream of small chunks, cut wherever they fall."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def import_file(
    api: Api,
    data: bytes,
    *,
    role: Role | None = Role.admin,
    cities: tuple[str, ...] = (),
    content_type: str | None = "text/csv",
    chunk_size: int = 7,
    **params: str,
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return await api.post(
        "/v1/imports",
        content=chunked(data, chunk_size),
        params=params,
        headers=headers,
        role=role,
        cities=cities,
    )


async def imported(api: Api, data: bytes, **kwargs: Any) -> dict[str, Any]:
    """Import a file that must be accepted; the import's report."""
    response = await import_file(api, data, **kwargs)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def row_errors(response: httpx.Response) -> list[tuple[int, str]]:
    return [(error["row"], error["column"]) for error in response.json().get("errors") or []]


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    """Everything an import may change: figures, sources, history and events."""
    figures = await session.execute(
        text(
            "SELECT o.id, o.city_code, o.indicator_code, o.period, o.scope, o.disaggregation, "
            "o.dimensions, o.value, o.value_low, o.value_high, o.obs_status, o.note, "
            "o.updated_at, o.updated_by, s.title, s.url "
            "FROM profiles.observation o JOIN profiles.source s ON s.id = o.source_id "
            "ORDER BY o.id"
        )
    )
    sources = await session.execute(
        text(
            "SELECT id, title, publisher, url, kind, reliability_rank FROM profiles.source "
            "ORDER BY id"
        )
    )
    return {
        "figures": [tuple(figure) for figure in figures],
        "sources": [tuple(source) for source in sources],
        "history": await session.scalar(text("SELECT count(*) FROM profiles.observation_history")),
        "outbox": await session.scalar(text("SELECT count(*) FROM profiles.outbox")),
    }


async def vienna_figures(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT o.id, o.indicator_code, o.period, o.scope, o.disaggregation, o.dimensions, "
            "o.value, o.value_low, o.value_high, o.obs_status, o.note, s.title AS source_title, "
            "s.publisher AS source_publisher, s.kind AS source_kind, "
            "s.reliability_rank AS source_rank "
            "FROM profiles.observation o JOIN profiles.source s ON s.id = o.source_id "
            "WHERE o.city_code = 'ATVIE' ORDER BY o.period, o.disaggregation, o.id"
        )
    )
    return [dict(figure._mapping) for figure in rows]


async def history(api: Api, observation_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/observations/{observation_id}/history", role=Role.viewer)
    assert response.status_code == 200, response.text
    changes: list[dict[str, Any]] = response.json()["items"]
    return changes


# --- idempotence -------------------------------------------------------------------------------


async def test_importing_the_demo_file_over_the_seeded_data_changes_nothing(
    api: Api, session: AsyncSession
) -> None:
    before = await snapshot(session)
    report = await imported(api, FIGURES_FILE.read_bytes())
    data_rows = len(FIGURES_FILE.read_text().splitlines()) - 1
    assert (report["rows"], report["inserted"], report["updated"], report["unchanged"]) == (
        data_rows,
        0,
        0,
        data_rows,
    ), report
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(FIGURES_FILE, id="demo copy"),
        pytest.param(SHARED_FIGURES_FILE, id="shared data"),
    ],
)
async def test_importing_city_figures_twice_leaves_the_same_data(
    api: Api, session: AsyncSession, path: Path
) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is not beside this checkout")
    # Start from no figures and no sources, so the first import creates everything.
    await session.execute(text("DELETE FROM profiles.observation"))
    await session.execute(text("DELETE FROM profiles.source"))
    data = path.read_bytes()
    data_rows = len(data.decode().splitlines()) - 1

    first = await imported(api, data)
    after_first = await snapshot(session)
    second = await imported(api, data)

    assert (first["inserted"], first["updated"], first["unchanged"]) == (data_rows, 0, 0), first
    assert first["sources_created"] == len(after_first["sources"]), first
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, data_rows), second
    assert second["sources_created"] == 0, second
    assert await snapshot(session) == after_first, "the second import changed the data"


def test_the_shared_file_and_the_demo_copy_are_the_same() -> None:
    if not SHARED_FIGURES_FILE.is_file():
        pytest.skip(f"{SHARED_FIGURES_FILE} is not beside this checkout")
    assert SHARED_FIGURES_FILE.read_bytes() == FIGURES_FILE.read_bytes()


async def test_import_reports_what_it_did(api: Api, session: AsyncSession) -> None:
    await imported(api, csv_file(row(value=1000), row(period="2020", value=1100)))
    report = await imported(
        api,
        csv_file(row(value=1000), row(period="2020", value=1150), row(period="2021")),
    )
    assert report["status"] == "applied" and report["dry_run"] is False, report
    counts = {key: report[key] for key in ("rows", "inserted", "updated", "unchanged")}
    assert counts == {"rows": 3, "inserted": 1, "updated": 1, "unchanged": 1}, report
    assert [figure["value"] for figure in await vienna_figures(session)] == [1000, 1150, 1000]


# --- all or nothing, every problem reported ----------------------------------------------------


async def test_file_with_one_bad_row_writes_nothing_and_names_that_row(
    api: Api, session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await import_file(
        api,
        csv_file(
            row(period="2018"),
            row(period="2019"),
            row(period="2020", value=-5),
            row(period="2021"),
        ),
    )
    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (4, "value"), error  # the header is row 1
    assert "negative" in error["detail"], error
    assert await snapshot(session) == before, "a rejected file wrote something"


async def test_every_bad_row_is_reported_with_its_column_and_reason(
    api: Api, session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await import_file(
        api,
        csv_file(
            row(city="XXABC"),  # 2
            row(period="2020", value="1,000"),  # 3
            row(period="2021"),  # 4: valid
            row(indicator="no_such_indicator"),  # 5
            row(period="2019-13"),  # 6
            row(period="2022", dimension="district=01"),  # 7
            row(period="2023", source_kind="blog"),  # 8
            row(period="2024", source_title=" "),  # 9
            row(period="2025", obs_status="Z"),  # 10
            row(period="2026", source_url="ftp://example.org/"),  # 11
            row(period="2027", value=""),  # 12
            row(period="2028", value="12.5"),  # 13
            row(period="2029", value=90, value_low=100, value_high=200),  # 14
            row(period="2030", scope="planet"),  # 15
            row(period="2031", dimension="sex"),  # 16
            row(period="2032", value="NaN"),  # 17
            row(period="2033", source_url="https://example.org/a b"),  # 18
            row(period="2034", source_publisher="P" * 501),  # 19
            row(period="2035", source_title="T" * 501),  # 20
            row(period="2036", note="N" * 2001),  # 21
            "ATVIE,foreign_nationals,2037",  # 22: too few cells
        ),
    )
    problem = assert_problem(response, 422)
    assert row_errors(response) == [
        (2, "city"),
        (3, "value"),
        (5, "indicator"),
        (6, "period"),
        (7, "dimension"),
        (8, "source_kind"),
        (9, "source_title"),
        (10, "obs_status"),
        (11, "source_url"),
        (12, "value"),
        (13, "value"),
        (14, "value"),
        (15, "scope"),
        (16, "dimension"),
        (17, "value"),
        (18, "source_url"),
        (19, "source_publisher"),
        (20, "source_title"),
        (21, "note"),
        (22, "row"),
    ], problem
    assert problem["error_count"] == 20, problem
    assert all(error["detail"] for error in problem["errors"]), problem
    assert await snapshot(session) == before


async def test_reported_errors_are_capped_but_all_counted(api: Api) -> None:
    cap = api.settings.import_max_reported_errors
    response = await import_file(
        api,
        csv_file(*[row(period=str(1800 + n), value=-1) for n in range(cap + 1)]),
        chunk_size=64 * 1024,
    )
    problem = assert_problem(response, 422)
    assert len(problem["errors"]) == cap, len(problem["errors"])
    assert problem["error_count"] == cap + 1, problem["error_count"]
    assert f"first {cap} listed" in problem["detail"], problem["detail"]


async def test_blank_lines_are_skipped_but_keep_row_numbers(api: Api) -> None:
    data = csv_file(row(period="2018"), "", row(period="2019", value=-1))
    response = await import_file(api, data)
    assert_problem(response, 422)
    assert row_errors(response) == [(4, "value")], response.text


async def test_rows_duplicating_another_row_are_rejected_naming_both(
    api: Api, session: AsyncSession
) -> None:
    before = await snapshot(session)
    response = await import_file(
        api,
        csv_file(
            row(value=1000),
            row(period="2020"),
            row(value=1001, note="same key, other value"),
        ),
    )
    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["row"] == 4, error
    assert "row 2" in error["detail"], error
    assert await snapshot(session) == before


async def test_breakdown_written_in_another_order_is_the_same_figure(
    api: Api, session: AsyncSession
) -> None:
    response = await import_file(
        api, csv_file(row(dimension="sex=F;citizenship=SY"), row(dimension="citizenship=SY;sex=F"))
    )
    assert_problem(response, 422)
    assert row_errors(response) == [(3, "row")], response.text
    assert await vienna_figures(session) == []


async def test_same_figure_from_two_sources_is_not_a_duplicate(
    api: Api, session: AsyncSession
) -> None:
    report = await imported(
        api, csv_file(row(value=1000), row(value=1200, source_title="Der Standard (test)"))
    )
    assert report["inserted"] == 2, report
    assert len(await vienna_figures(session)) == 2


@pytest.mark.parametrize(
    ("header", "column", "detail"),
    [
        pytest.param(CSV_HEADER + ",colour", "colour", "not a column", id="unknown column"),
        pytest.param(
            CSV_HEADER.replace(",value,", ",", 1), "value", "missing", id="missing column"
        ),
        pytest.param(CSV_HEADER + ",city", "city", "twice", id="duplicate column"),
        pytest.param(CSV_HEADER + ",", "column 15", "not a column", id="unnamed column"),
    ],
)
async def test_header_problems_are_rejected_naming_the_column(
    api: Api, session: AsyncSession, header: str, column: str, detail: str
) -> None:
    before = await snapshot(session)
    response = await import_file(api, csv_file(row(), header=header))
    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (1, column), error
    assert detail in error["detail"], error
    assert await snapshot(session) == before


async def test_header_with_only_the_required_columns_is_enough(
    api: Api, session: AsyncSession
) -> None:
    data = b"city,indicator,period,scope,value,source_title\nATVIE,population,2019,metro,2e6,X\n"
    report = await imported(api, data)
    assert report["inserted"] == 1, report
    [figure] = await vienna_figures(session)
    assert (figure["value"], figure["source_kind"], figure["source_rank"]) == (2e6, "other", 5), (
        figure
    )


async def test_columns_may_come_in_any_order(api: Api, session: AsyncSession) -> None:
    data = b"value,source_title,scope,period,indicator,city\n7,X,metro,2019,population,ATVIE\n"
    await imported(api, data)
    [figure] = await vienna_figures(session)
    assert (figure["indicator_code"], figure["scope"], figure["value"]) == (
        "population",
        "metro",
        7,
    ), figure


async def test_empty_file_is_rejected(api: Api) -> None:
    response = await import_file(api, b"")
    assert_problem(response, 422)
    assert row_errors(response) == [(1, "file")], response.text


async def test_file_with_only_a_header_is_rejected(api: Api) -> None:
    response = await import_file(api, csv_file())
    assert_problem(response, 422)
    assert row_errors(response) == [(2, "file")], response.text


async def test_quoted_cell_that_never_closes_is_rejected_at_its_row(api: Api) -> None:
    data = csv_file(row(period="2018")) + b'ATVIE,foreign_nationals,2019,municipality,,1,,,A,"X\n'
    response = await import_file(api, data)
    assert_problem(response, 422)
    assert row_errors(response) == [(3, "file")], response.text


async def test_non_utf8_bytes_are_rejected_naming_their_row(
    api: Api, session: AsyncSession
) -> None:
    before = await snapshot(session)
    data = csv_file(row(period="2018"), row(period="2019"), row(period="2020", note="caf\xe9"))
    data = data.replace("café".encode(), "café".encode("latin-1"))
    response = await import_file(api, data, chunk_size=64 * 1024)
    problem = assert_problem(response, 422)
    assert row_errors(response) == [(4, "file")], problem
    assert "UTF-8" in problem["errors"][0]["detail"], problem
    assert await snapshot(session) == before


# --- content type and streaming ----------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_body_that_is_not_text_csv_is_refused(
    api: Api, session: AsyncSession, content_type: str | None
) -> None:
    before = await snapshot(session)
    response = await import_file(api, csv_file(row()), content_type=content_type)
    assert_problem(response, 415)
    assert await snapshot(session) == before


async def test_text_csv_with_parameters_is_accepted(api: Api) -> None:
    report = await imported(api, csv_file(row()), content_type="Text/CSV; charset=utf-8")
    assert report["inserted"] == 1, report


async def test_file_is_read_as_it_arrives(api: Api) -> None:
    # A bad header is answered without reading the rest of the body.
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b"city,indicator,colour\n"
        for n in range(1000):
            sent.append(n)
            yield row(period=str(1900 + n % 100)).encode() + b"\n"

    response = await api.post(
        "/v1/imports", content=body(), headers={"Content-Type": "text/csv"}, role=Role.admin
    )
    assert_problem(response, 422)
    assert len(sent) < 1000, f"the whole body ({len(sent)} chunks) was read before answering"


async def test_file_sent_byte_by_byte_is_imported(api: Api, session: AsyncSession) -> None:
    data = csv_file(
        row(note="Wien \u2013 ein Überblick, 2019"),
        row(period="2020", note="multi\nline, quoted"),
    )
    report = await imported(api, data, chunk_size=1)
    assert report["inserted"] == 2, report
    notes = [figure["note"] for figure in await vienna_figures(session)]
    assert notes == ["Wien \u2013 ein Überblick, 2019", "multi\nline, quoted"], notes


# --- file formats ------------------------------------------------------------------------------


async def test_quoted_cells_keep_their_commas_quotes_and_line_breaks(
    api: Api, session: AsyncSession
) -> None:
    note = 'first line, with a comma\nsecond line with "quotes"\r\nthird'
    title = "Statistik Austria, Bevölkerung (test)"
    report = await imported(api, csv_file(row(note=note, source_title=title)))
    assert report["rows"] == 1, report
    [figure] = await vienna_figures(session)
    assert (figure["note"], figure["source_title"]) == (note, title), figure


async def test_quote_inside_an_unquoted_cell_is_kept_as_text(
    api: Api, session: AsyncSession
) -> None:
    data = csv_file(
        'ATVIE,population,2019,metro,,7,,,A,X,,,,a 5" pipe',
        "ATVIE,population,2020,metro,,8,,,A,X,,,,next row",
    )
    report = await imported(api, data)
    assert report["inserted"] == 2, report
    notes = [figure["note"] for figure in await vienna_figures(session)]
    assert notes == ['a 5" pipe', "next row"], notes


async def test_file_with_a_byte_order_mark_is_imported(api: Api, session: AsyncSession) -> None:
    report = await imported(api, b"\xef\xbb\xbf" + csv_file(row()))
    assert report["inserted"] == 1, report
    assert len(await vienna_figures(session)) == 1


async def test_file_with_crlf_line_endings_is_imported(api: Api, session: AsyncSession) -> None:
    data = csv_file(row(note="one"), row(period="2020", note="two")).replace(b"\n", b"\r\n")
    report = await imported(api, data)
    assert report["inserted"] == 2, report
    notes = [figure["note"] for figure in await vienna_figures(session)]
    assert notes == ["one", "two"], notes


async def test_breakdowns_are_read_from_the_dimension_column(
    api: Api, session: AsyncSession
) -> None:
    await imported(
        api,
        csv_file(
            row(dimension="sex=F; citizenship=SY", value=10),
            row(dimension="citizenship=SY;sex=M", value=12),
        ),
    )
    figures = await vienna_figures(session)
    assert [(f["disaggregation"], f["dimensions"]) for f in figures] == [
        ("citizenship=SY;sex=F", {"sex": "F", "citizenship": "SY"}),
        ("citizenship=SY;sex=M", {"citizenship": "SY", "sex": "M"}),
    ], figures


async def test_ranges_and_statuses_are_imported(api: Api, session: AsyncSession) -> None:
    await imported(
        api,
        csv_file(
            row(
                indicator="refugees_estimate",
                value=300,
                value_low=250,
                value_high=350,
                obs_status="E",
            ),
            row(period="2020", value="", obs_status="M"),
        ),
    )
    estimate, missing = await vienna_figures(session)
    assert (estimate["value_low"], estimate["value_high"], estimate["obs_status"]) == (
        250,
        350,
        "E",
    ), estimate
    assert (missing["value"], missing["obs_status"]) == (None, "M"), missing


# --- dry runs ----------------------------------------------------------------------------------


async def test_dry_run_reports_what_would_change_and_writes_nothing(
    api: Api, session: AsyncSession
) -> None:
    await imported(api, csv_file(row(value=1000)))
    before = await snapshot(session)
    data = csv_file(
        row(value=1001),  # would update
        row(period="2020"),  # would insert
        row(period="2021", source_title="A new source (test)"),  # would insert, new source
        row(period="2021", **MADRID_SOURCE),  # would insert, known source
    )

    dry = await imported(api, data, dry_run="true")

    assert dry["status"] == "validated" and dry["dry_run"] is True, dry
    counts = {k: dry[k] for k in ("rows", "inserted", "updated", "unchanged", "sources_created")}
    assert counts == {
        "rows": 4,
        "inserted": 3,
        "updated": 1,
        "unchanged": 0,
        "sources_created": 1,
    }, dry
    assert await snapshot(session) == before, "a dry run wrote something"

    real = await imported(api, data)
    assert {k: real[k] for k in counts} == counts, real


async def test_dry_run_of_a_bad_file_reports_its_rows(api: Api) -> None:
    response = await import_file(api, csv_file(row(value=-1)), dry_run="true")
    assert_problem(response, 422)
    assert row_errors(response) == [(2, "value")], response.text


# --- sources -----------------------------------------------------------------------------------


async def test_source_named_by_a_known_title_and_url_is_reused(
    api: Api, session: AsyncSession
) -> None:
    sources_before = (await snapshot(session))["sources"]
    # Publisher and kind differ from the stored source: title and URL decide.
    report = await imported(
        api, csv_file(row(**{**MADRID_SOURCE, "source_publisher": "", "source_kind": "press"}))
    )
    assert report["sources_created"] == 0, report
    assert (await snapshot(session))["sources"] == sources_before
    [figure] = await vienna_figures(session)
    assert (figure["source_title"], figure["source_kind"]) == (
        MADRID_SOURCE["source_title"],
        "mc2cm_profile",
    ), figure


@pytest.mark.parametrize(
    ("kind", "rank"),
    [
        ("census", 1),
        ("register", 1),
        ("administrative", 2),
        ("unhcr", 2),
        ("mc2cm_profile", 2),
        ("survey", 3),
        ("academic", 3),
        ("ngo_estimate", 4),
        ("press", 5),
        ("other", 5),
        ("", 5),
    ],
)
async def test_new_source_is_created_with_the_reliability_of_its_kind(
    api: Api, session: AsyncSession, kind: str, rank: int
) -> None:
    report = await imported(
        api, csv_file(row(source_title=f"New {kind or 'unnamed'} source (test)", source_kind=kind))
    )
    assert report["sources_created"] == 1, report
    [figure] = await vienna_figures(session)
    assert (figure["source_kind"], figure["source_rank"]) == (kind or "other", rank), figure
    assert figure["source_publisher"] == "Stadt Wien, MA 23", figure


async def test_rows_naming_the_same_new_source_create_it_once(
    api: Api, session: AsyncSession
) -> None:
    report = await imported(api, csv_file(*[row(period=str(year)) for year in range(2010, 2020)]))
    assert report["sources_created"] == 1, report
    titles = {figure["source_title"] for figure in await vienna_figures(session)}
    assert titles == {"Wiener Bevölkerungsregister (import test)"}, titles


async def test_same_title_with_another_url_is_another_source(
    api: Api, session: AsyncSession
) -> None:
    report = await imported(
        api,
        csv_file(
            row(**{**MADRID_SOURCE, "source_url": "https://example.org/madrid"}),
            row(period="2020", **{**MADRID_SOURCE, "source_url": ""}),
        ),
    )
    assert report["sources_created"] == 2, report


# --- who may import ----------------------------------------------------------------------------


async def test_anonymous_caller_cannot_import(api: Api, session: AsyncSession) -> None:
    before = await snapshot(session)
    response = await import_file(api, csv_file(row()), role=None)
    assert_problem(response, 401)
    assert await snapshot(session) == before


async def test_viewer_cannot_import(api: Api, session: AsyncSession) -> None:
    before = await snapshot(session)
    response = await import_file(api, csv_file(row()), role=Role.viewer)
    assert_problem(response, 403)
    assert await snapshot(session) == before


async def test_editor_of_lisbon_cannot_import_turin_rows(api: Api, session: AsyncSession) -> None:
    before = await snapshot(session)
    response = await import_file(
        api,
        csv_file(row(city="PTLIS"), row(city="ITTRN"), row(city="PTLIS", period="2020")),
        role=Role.editor,
        cities=("PTLIS",),
    )
    problem = assert_problem(response, 403)
    assert problem.get("cities") == ["ITTRN"], problem
    assert await snapshot(session) == before, "rows of Lisbon were written"


@pytest.mark.parametrize(
    "bad_cells",
    [{"value": "abc"}, {"source_kind": "rumour"}, {"obs_status": "Z"}, {"source_title": ""}],
)
async def test_another_citys_row_is_a_403_however_else_it_is_wrong(
    api: Api, bad_cells: dict[str, str]
) -> None:
    response = await import_file(
        api,
        csv_file(row(city="PTLIS", **bad_cells)),
        role=Role.editor,
        cities=("ITTRN",),
    )

    problem = assert_problem(response, 403)
    assert problem.get("cities") == ["PTLIS"], problem


async def test_viewer_is_refused_before_the_file_is_read(api: Api) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for part in (csv_file(row()), b"ATVIE,never,read\n" * 100):
            sent.append(len(part))
            yield part

    response = await api.post(
        "/v1/imports",
        role=Role.viewer,
        content=chunks(),
        headers={"Content-Type": "text/csv"},
    )

    assert_problem(response, 403)
    assert len(sent) <= 1, sent


async def test_nul_character_in_a_cell_names_its_row_and_column(api: Api) -> None:
    response = await import_file(api, csv_file(row(), row(period="2020", note="a\x00b")))

    assert_problem(response, 422)
    assert row_errors(response) == [(3, "note")], response.json()


async def test_editor_imports_rows_of_their_city(api: Api, session: AsyncSession) -> None:
    report = await imported(api, csv_file(row()), role=Role.editor, cities=("ATVIE",))
    assert report["inserted"] == 1, report


# --- history and events ------------------------------------------------------------------------


async def test_history_rows_carry_the_import_id_and_reason(api: Api, session: AsyncSession) -> None:
    first = await imported(api, csv_file(row(value=1000)), reason="2019 register release")
    second = await imported(
        api, csv_file(row(value=1010)), role=Role.editor, cities=("ATVIE",), reason="revision"
    )
    [figure] = await vienna_figures(session)
    created, updated = await history(api, figure["id"])
    assert (created["change"], created["import_id"], created["reason"]) == (
        "created",
        first["import_id"],
        "2019 register release",
    ), created
    assert (updated["change"], updated["import_id"], updated["changed_by"]) == (
        "updated",
        second["import_id"],
        "editor@test",
    ), updated
    assert (updated["old_value"], updated["new_value"], updated["reason"]) == (
        1000,
        1010,
        "revision",
    ), updated


async def test_import_adds_one_observations_changed_event(api: Api, session: AsyncSession) -> None:
    position = await session.scalar(text("SELECT coalesce(max(position), 0) FROM profiles.outbox"))
    await imported(api, csv_file(row(), row(period="2020"), row(city="ITTRN", period="2020")))
    events = (
        await session.execute(
            text("SELECT type, envelope FROM profiles.outbox WHERE position > :p"),
            {"p": position},
        )
    ).all()
    assert [event.type for event in events] == ["observations.changed"], events
    keys = sorted(
        (key["indicator"], key["period"], key["cities"])
        for key in events[0].envelope["data"]["keys"]
    )
    assert keys == [
        ("foreign_nationals", "2019", ["ATVIE"]),
        ("foreign_nationals", "2020", ["ATVIE", "ITTRN"]),
    ], keys


async def test_row_describing_an_existing_source_otherwise_keeps_it_and_says_so(
    api: Api,
) -> None:
    data = csv_file(
        "ATVIE,foreign_nationals,2024,municipality,,600000,,,E,MC2CM City Migration Profile "
        "Tangier,Somebody else,https://www.imap-migration.org/urban/city-migration-dashboards/"
        "tangier,ngo_estimate,",
    )

    report = await imported(api, data)

    assert report["sources_created"] == 0, report
    assert len(report["notes"]) == 1, report["notes"]
    assert "mc2cm_profile" in report["notes"][0] and "ngo_estimate" in report["notes"][0]


async def test_rows_describing_a_new_source_two_ways_use_the_first_and_say_so(api: Api) -> None:
    data = csv_file(
        "ATVIE,foreign_nationals,2024,municipality,,600000,,,A,"
        "Wien in Zahlen,Stadt Wien,,register,",
        "ATVIE,foreign_born,2024,municipality,,700000,,,A,Wien in Zahlen,Stadt Wien,,census,",
    )

    report = await imported(api, data)

    assert report["sources_created"] == 1, report
    assert report["notes"] == [
        "row 3: source 'Wien in Zahlen' is described as census by Stadt Wien; "
        "register by Stadt Wien is used, as first given"
    ], report["notes"]
    sources = (await api.get("/v1/sources", params={"q": "Wien in Zahlen"})).json()["items"]
    assert [source["kind"] for source in sources] == ["register"], sources


@pytest.mark.parametrize("value", ["1_000", "inf", "nan", "0x10", "1,5", "12 000"])
async def test_values_must_be_plain_decimal_numbers(api: Api, value: str) -> None:
    response = await import_file(api, csv_file(row(value=value)))

    assert_problem(response, 422)
    assert row_errors(response) == [(2, "value")], response.json()


async def test_every_row_repeating_a_bad_source_or_breakdown_is_reported(api: Api) -> None:
    # Rows naming the same source and breakdown are checked once when valid; a bad one is
    # reported on each row that repeats it, between valid rows naming another.
    response = await import_file(
        api,
        csv_file(
            row(period="2016", source_url="ftp://example.org/"),
            row(period="2017"),
            row(period="2018", source_url="ftp://example.org/"),
            row(period="2019", dimension="sex"),
            row(period="2020"),
            row(period="2021", dimension="sex"),
        ),
    )
    assert_problem(response, 422)
    assert row_errors(response) == [
        (2, "source_url"),
        (4, "source_url"),
        (5, "dimension"),
        (7, "dimension"),
    ]
