"""Choosing a response format from the client's ``Accept`` header."""

from __future__ import annotations

import pytest

from shared.negotiation import preferred_media_type

OFFERED = ["application/json", "text/csv"]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        pytest.param(None, "application/json", id="no header"),
        pytest.param("*/*", "application/json", id="anything"),
        pytest.param("text/csv", "text/csv", id="csv only"),
        pytest.param("text/*", "text/csv", id="any text"),
        pytest.param("text/csv, application/json", "application/json", id="tie goes to json"),
        pytest.param("application/json;q=0.5, text/csv", "text/csv", id="csv preferred by q"),
        pytest.param("text/csv;q=0.5, */*", "application/json", id="anything preferred"),
        pytest.param("text/csv;q=0, */*", "application/json", id="csv refused"),
        pytest.param("application/xml", "application/json", id="nothing offered matches"),
        pytest.param("text/csv;q=bad", "application/json", id="malformed quality"),
        pytest.param("TEXT/CSV", "text/csv", id="case does not matter"),
        # Parameters the offered type does not declare say nothing against it.
        pytest.param("text/csv; charset=utf-8", "text/csv", id="csv with a charset"),
        pytest.param("text/csv;header=present", "text/csv", id="csv as the export names it"),
    ],
)
def test_the_format_with_the_highest_quality_is_chosen(accept: str | None, chosen: str) -> None:
    assert preferred_media_type(accept, OFFERED) == chosen


SDMX_CSV = "application/vnd.sdmx.data+csv;version=2.0.0"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        pytest.param(SDMX_CSV, SDMX_CSV, id="exact, with its version"),
        pytest.param("application/vnd.sdmx.data+csv; version=2.0.0", SDMX_CSV, id="spaces"),
        pytest.param('application/vnd.sdmx.data+csv;version="2.0.0"', SDMX_CSV, id="quoted"),
        pytest.param("application/vnd.sdmx.data+csv", SDMX_CSV, id="any version"),
        pytest.param("application/vnd.sdmx.data+csv;version=1.0.0", "application/json", id="v1"),
        pytest.param(
            f"application/vnd.sdmx.data+csv;q=0.1, {SDMX_CSV};q=0.9, application/json;q=0.5",
            SDMX_CSV,
            id="the range with parameters is the more specific",
        ),
        pytest.param(f"{SDMX_CSV};q=0, */*", "application/json", id="refused by its quality"),
        pytest.param(f"{SDMX_CSV}; charset=utf-8", SDMX_CSV, id="with a charset"),
    ],
)
def test_offered_types_with_parameters_match_ranges_with_those_parameters(
    accept: str, chosen: str
) -> None:
    assert preferred_media_type(accept, ["application/json", "text/csv", SDMX_CSV]) == chosen
