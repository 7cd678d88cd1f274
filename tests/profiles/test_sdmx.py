"""SDMX: our structure and our SDMX-CSV data, read back by an independent reader (pysdmx)."""

from __future__ import annotations

import csv
import io

from pysdmx.io import read_sdmx
from pysdmx.model import Codelist, DataStructureDefinition

from tests.factories import Api

SDMX_CSV = "application/vnd.sdmx.data+csv;version=2.0.0"


def structure_of(message: bytes) -> tuple[DataStructureDefinition, dict[str, Codelist]]:
    structures = read_sdmx(message.decode()).structures
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
