"""SDMX: our structure and our SDMX-CSV data, read back by an independent reader (pysdmx)."""

from __future__ import annotations

import csv
import io
import re
from uuid import UUID

import httpx
import pytest
from pysdmx.io import get_datasets, read_sdmx
from pysdmx.model import Codelist, DataStructureDefinition, Schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.imports import service as imports_service
from services.profiles_api.observations.fields import (
    SCOPE_PATTERN,
    FieldProblem,
    ObsStatus,
    disaggregation_key,
)
from services.profiles_api.sdmx.catalogue import BREAKDOWN_FACET, SCOPE_FACET
from services.profiles_api.sdmx.structure import OBS_STATUS_NAMES
from shared.auth import Role
from tests.factories import Api, assert_problem, error_fields, observation

SDMX_CSV = "application/vnd.sdmx.data+csv;version=2.0.0"
#: A small count of a breakdown: suppressed for the public.
SMALL = {"citizenship": "SY"}


def structure_of(message: bytes) -> tuple[DataStructureDefinition, dict[str, Codelist]]:
    structures = read_sdmx(message.decode()).structures or []
    [dsd] = [s for s in structures if isinstance(s, DataStructureDefinition)]
    return dsd, {s.id: s for s in structures if isinstance(s, Codelist)}


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_structure_parses_with_the_catalogues_codes(api: Api) -> None:
    response = await api.get("/v1/sdmx/structure")

    assert response.status_code == 200, response.text
    dsd, codelists = structure_of(response.content)
    dimensions = [c.id for c in dsd.components.dimensions]
    assert dimensions[:3] == ["REF_AREA", "INDICATOR", "SCOPE"], dimensions
    assert dimensions[-1] == "TIME_PERIOD"
    assert {"SEX", "AGE_GROUP", "CITIZENSHIP", "BREAKDOWN_INDICATOR"} <= set(dimensions)
    assert [c.id for c in dsd.components.measures] == ["OBS_VALUE"]
    assert {c.id for c in dsd.components.attributes} == {
        "OBS_STATUS",
        "UNIT_MEASURE",
        "SOURCE",
        "OBS_VALUE_LOW",
        "OBS_VALUE_HIGH",
        "COMMENT",
        "CONF_STATUS",
    }
    assert {"PTLIS", "ITTRN", "ATVIE"} <= {code.id for code in codelists["CL_AREA"]}
    assert "foreign_nationals" in {code.id for code in codelists["CL_INDICATOR"]}
    assert dsd.version == response.headers["sdmx-version"]


async def test_the_export_is_sdmx_csv_of_the_structure_negotiated_by_accept(api: Api) -> None:
    response = await api.get(
        "/v1/observations", params={"city": "ITTRN"}, headers={"Accept": SDMX_CSV}
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SDMX_CSV)
    dsd, codelists = structure_of((await api.get("/v1/sdmx/structure")).content)
    rows = read_rows(response.text)
    assert rows, "the demo data has figures of Turin"
    assert list(rows[0])[:3] == ["STRUCTURE", "STRUCTURE_ID", "ACTION"]
    assert list(rows[0])[3:] == [c.id for c in dsd.components], list(rows[0])
    assert {row["STRUCTURE_ID"] for row in rows} == {"MC2CM:CITY_MIGRATION(1.0)"}
    for component in ("REF_AREA", "INDICATOR", "OBS_STATUS", "UNIT_MEASURE", "CONF_STATUS"):
        codes = {code.id for code in codelists[dsd.components[component].enumeration.id]}
        assert {row[component] for row in rows} <= codes, component


async def export_sdmx(api: Api, role: Role | None = Role.admin, **params: str) -> httpx.Response:
    response = await api.get("/v1/observations", params={"format": "sdmx-csv", **params}, role=role)
    assert response.status_code == 200, response.text
    return response


async def import_sdmx(api: Api, content: str | bytes, **params: str) -> httpx.Response:
    return await api.post(
        "/v1/imports",
        content=content,
        params=params,
        headers={"Content-Type": SDMX_CSV},
        role=Role.admin,
    )


def write_rows(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


async def test_an_export_imports_back_unchanged_on_the_demo_data(api: Api) -> None:
    before = await export_sdmx(api)
    rows = read_rows(before.text)

    response = await import_sdmx(api, before.content)

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["rows"], result["inserted"], result["updated"], result["withdrawn"]) == (
        len(rows),
        0,
        0,
        0,
    ), result
    assert result["unchanged"] == len(rows) and result["sources_created"] == 0, result
    assert (await export_sdmx(api)).content == before.content


async def test_rows_of_action_d_withdraw_what_they_name_with_the_reason(
    api: Api, session: AsyncSession
) -> None:
    rows = read_rows((await export_sdmx(api, city="ITTRN")).text)
    withdrawn = [{**rows[0], "ACTION": "D"}]

    refused = await import_sdmx(api, write_rows(withdrawn))
    assert "reason" in error_fields(assert_problem(refused, 422))

    response = await import_sdmx(api, write_rows(withdrawn), reason="Superseded by the census")
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn"] == 1, response.json()
    # The history names the import that withdrew it, as it does for the values imports change.
    change = (
        await session.execute(
            text(
                "SELECT change, reason, import_id FROM profiles.observation_history "
                "WHERE reason = 'Superseded by the census'"
            )
        )
    ).one()
    assert tuple(change) == (
        "deleted",
        "Superseded by the census",
        UUID(response.json()["import_id"]),
    )
    after = read_rows((await export_sdmx(api, city="ITTRN")).text)
    assert rows[0] not in after and len(after) == len(rows) - 1
    again = await import_sdmx(api, write_rows(withdrawn), reason="twice")
    assert error_fields(assert_problem(again, 422)) == {"row"}


async def test_suppressed_cells_are_confidential_and_text_is_formula_safe(api: Api) -> None:
    note = '=HYPERLINK("https://evil.example","x")'
    body = {
        "observations": [
            observation(city="ATVIE", period="2031", value=3, note=note, dimensions=SMALL),
            observation(city="ATVIE", period="2031", value=4, note="-2+3"),
        ]
    }
    assert (await api.post("/v1/observations", json=body, role=Role.admin)).status_code == 200

    public = read_rows((await export_sdmx(api, None, city="ATVIE", period_from="2031")).text)
    by_breakdown = {row["CITIZENSHIP"]: row for row in public}
    small, total = by_breakdown["SY"], by_breakdown["_T"]
    assert (small["OBS_VALUE"], small["CONF_STATUS"]) == ("", "C"), small
    assert (total["OBS_VALUE"], total["CONF_STATUS"]) == ("4", "F"), total
    assert (small["COMMENT"], total["COMMENT"]) == ("'" + note, "'-2+3")
    assert small["SEX"] == "_T" and total["SEX"] == "_T"
    assert by_breakdown["SY"]["BREAKDOWN_INDICATOR"] == "_Z"

    refused = await import_sdmx(api, write_rows([small]))
    assert error_fields(assert_problem(refused, 422)) == {"CONF_STATUS"}
    restored = await import_sdmx(api, write_rows([total]))
    assert restored.json()["unchanged"] == 1, restored.json()
    rows = await api.get("/v1/observations", params={"city": "ATVIE", "period_from": "2031"})
    assert {item["note"] for item in rows.json()["items"]} == {note, "-2+3"}


async def test_the_exported_data_reads_with_its_structure(api: Api) -> None:
    data = (await export_sdmx(api, city="PTLIS")).text
    structure = (await api.get("/v1/sdmx/structure")).text

    [dataset] = get_datasets(data, structure)

    schema = dataset.structure
    assert isinstance(schema, Schema), schema
    assert set(dataset.data.columns) == {c.id for c in schema.components}
    patterned = []
    for component in schema.components:
        values = set(dataset.data[component.id].dropna()) - {""}
        if component.enumeration is not None:
            codes = {code.id for code in component.enumeration}
            assert values <= codes, (component.id, values - codes)
        elif component.local_facets is not None and component.local_facets.pattern:
            patterned.append(component.id)
            pattern = re.compile(component.local_facets.pattern)
            assert all(pattern.fullmatch(value) for value in values), (component.id, values)
    # Scopes and breakdown values are typed by pattern (their codes are not SDMX ids).
    assert {"SCOPE", "SEX", "AGE_GROUP", "CITIZENSHIP"} <= set(patterned), patterned
    numbers = dataset.data["OBS_VALUE"].replace("", None).dropna().astype(float)
    assert len(numbers) > 0


def test_the_status_code_list_is_the_platforms() -> None:
    assert set(OBS_STATUS_NAMES) == {status.value for status in ObsStatus}


@pytest.mark.parametrize(
    "scope",
    ["municipality", "metro", "country", "district:Ciutat_Vella-1", "district:", "city", "x" * 60],
)
def test_the_scope_pattern_is_the_platforms(scope: str) -> None:
    platform = re.fullmatch(SCOPE_PATTERN, scope) is not None
    assert (re.fullmatch(SCOPE_FACET, scope) is not None) == platform, scope


@pytest.mark.parametrize("value", ["F", "15-64", "65+", "<5", "1.5", "a b", "x;y", "_T", "é"])
def test_the_breakdown_pattern_is_the_platforms(value: str) -> None:
    try:
        disaggregation_key({"sex": value}, ["sex"])
        platform = True
    except FieldProblem:
        platform = False
    assert (re.fullmatch(BREAKDOWN_FACET, value) is not None) == platform, value


async def test_bad_rows_are_reported_by_their_sdmx_columns(api: Api) -> None:
    [row, *_] = read_rows((await export_sdmx(api, city="ITTRN")).text)
    bad = [
        {**row, "REF_AREA": "XXXXX"},
        {**row, "TIME_PERIOD": "2017-13"},
        {**row, "OBS_VALUE": "1,5"},
        {**row, "OBS_STATUS": "Z"},
        {**row, "UNIT_MEASURE": "percent"},
        {**row, "ACTION": "X"},
        {**row, "STRUCTURE_ID": "ESTAT:NAMA_10_GDP(1.0)"},
        {**row, "SCOPE": "planet"},
    ]

    response = await import_sdmx(api, write_rows(bad))

    errors = assert_problem(response, 422)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "REF_AREA"),
        (3, "TIME_PERIOD"),
        (4, "OBS_VALUE"),
        (5, "OBS_STATUS"),
        (6, "UNIT_MEASURE"),
        (7, "ACTION"),
        (8, "STRUCTURE_ID"),
        (9, "SCOPE"),
    ], errors
    header = await import_sdmx(api, "STRUCTURE,STRUCTURE_ID,REF_AREA,COLOUR\r\n")
    assert {"COLOUR", "INDICATOR", "SOURCE"} <= error_fields(assert_problem(header, 422))


async def test_a_dry_run_withdraws_nothing_and_other_versions_are_refused(api: Api) -> None:
    before = (await export_sdmx(api, city="ITTRN")).text
    withdrawn = [{**row, "ACTION": "D"} for row in read_rows(before)]

    response = await import_sdmx(api, write_rows(withdrawn), reason="test", dry_run="true")

    assert response.status_code == 200, response.text
    assert response.json()["withdrawn"] == len(withdrawn), response.json()
    assert (await export_sdmx(api, city="ITTRN")).text == before
    older = await api.post(
        "/v1/imports",
        content=before,
        headers={"Content-Type": "application/vnd.sdmx.data+csv;version=1.0.0"},
        role=Role.admin,
    )
    assert_problem(older, 415)


async def test_withdrawals_past_the_limit_of_one_import_are_refused_by_action(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each withdrawal is applied on its own: one import holds a bounded number of them."""
    monkeypatch.setattr(imports_service, "MAX_WITHDRAWALS", 1)
    rows = read_rows((await export_sdmx(api, city="ITTRN")).text)
    withdrawn = [{**row, "ACTION": "D"} for row in rows[:2]]

    refused = await import_sdmx(api, write_rows(withdrawn), reason="Superseded")

    problem = assert_problem(refused, 422)
    assert error_fields(problem) == {"ACTION"}, problem
    assert read_rows((await export_sdmx(api, city="ITTRN")).text) == rows, "nothing withdrawn"
