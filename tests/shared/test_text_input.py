"""Text a request carries: one line where a line is meant, and nothing no text can hold.

A person named ``"x\\r\\nBcc: victim@example.org"`` would put a header into every mail sent to
them; a lone surrogate (``"\\ud800"``) cannot be encoded in UTF-8, so no JSON column or file
can hold it. Both are refused with a 422 naming the field, by the shared types of
``shared/text.py`` that every schema uses, not by the routes one by one.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from shared.auth import Role
from shared.settings import Settings
from shared.text import SINGLE_LINE_PATTERN
from tests.dialogue.factories import new_event, new_person
from tests.factories import (
    CSV_HEADER,
    Api,
    assert_problem,
    csv_file,
    error_fields,
    new_city,
    new_source,
)

BCC = "x\r\nBcc: victim@example.org"
SURROGATE = "\\ud800"  # as it arrives in a JSON body


def raw_json(body: dict[str, Any], **surrogates: str) -> bytes:
    """``body`` as JSON with each placeholder value of ``surrogates`` replaced by a lone
    surrogate escape (JSON encoders refuse to write one themselves)."""
    text = orjson.dumps(body).decode()
    for placeholder in surrogates.values():
        text = text.replace(placeholder, f"a{SURROGATE}b")
    return text.encode()


PROFILES_SINGLE_LINES = [
    pytest.param("/v1/sources", new_source(title=BCC), "title", id="source title"),
    pytest.param("/v1/sources", new_source(publisher="INE\tPortugal"), "publisher", id="publisher"),
    pytest.param("/v1/sources", new_source(licence="CC BY\u20284.0"), "licence", id="licence"),
    pytest.param("/v1/cities", new_city(names={"en": "Text\nville"}), "names", id="city names"),
    pytest.param(
        "/v1/cities",
        new_city(focal_points=[{"kind": "technical", "name": BCC}]),
        "focal_points.0.name",
        id="focal point name",
    ),
    pytest.param(
        "/v1/cities",
        new_city(focal_points=[{"kind": "political", "name": "A. B.", "organisation": "x\x85y"}]),
        "focal_points.0.organisation",
        id="focal point organisation",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), PROFILES_SINGLE_LINES)
async def test_profiles_single_line_fields_refuse_line_breaks_and_controls(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.post(path, json=body, role=Role.admin)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {field}, problem
    assert "single line" in problem["errors"][0]["detail"], problem


DIALOGUE_SINGLE_LINES = [
    pytest.param("/v1/people", new_person(name=BCC), "name", id="person name"),
    pytest.param(
        "/v1/people", new_person(organisation="Câmara\rMunicipal"), "organisation", id="org"
    ),
    pytest.param(
        "/v1/events", new_event(title={"en": "Meeting\nBcc: x"}), "title", id="event title"
    ),
    pytest.param("/v1/events", new_event(venue="Hall\u2029B"), "venue", id="event venue"),
    pytest.param(
        "/v1/webhooks",
        {
            "url": "https://partner.example.org/hooks",
            "event_types": ["event.changed"],
            "description": "Portal\nsync",
        },
        "description",
        id="webhook description",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), DIALOGUE_SINGLE_LINES)
async def test_dialogue_single_line_fields_refuse_line_breaks_and_controls(
    dialogue: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await dialogue.post(path, json=body, role=Role.admin)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {field}, problem


async def test_a_person_named_with_a_header_is_refused_and_nothing_is_stored(
    dialogue: Api,
) -> None:
    person = new_person(name=BCC)

    response = await dialogue.post("/v1/people", json=person, role=Role.admin)

    assert_problem(response, 422)
    listed = await dialogue.get("/v1/people", params={"limit": 1000}, role=Role.admin)
    assert person["email"] not in listed.text


async def test_narrative_keeps_its_line_breaks(api: Api) -> None:
    # Several lines are the point of a narrative, a description or a note.
    body = {
        "theme": "health",
        "need_type": "resources",
        "description": {"en": "Clinics are few.\nInterpreters fewer.\r\n\tBoth are needed."},
    }

    response = await api.post("/v1/cities/PTLIS/challenges", json=body, role=Role.admin)

    assert response.status_code == 201, response.text
    assert response.json()["description"] == body["description"]["en"]


async def test_multi_line_text_refuses_other_control_characters(api: Api) -> None:
    body = {"theme": "health", "need_type": "resources", "description": {"en": "a\x1b[31mb"}}

    response = await api.post("/v1/cities/PTLIS/challenges", json=body, role=Role.admin)

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {"description"}, problem
    assert "U+001B" in problem["errors"][0]["detail"], problem


async def test_an_imported_source_title_must_be_one_line_naming_row_and_column(
    api: Api,
) -> None:
    line = ",".join(
        [
            "ATVIE,foreign_nationals,2019,municipality,,1000,,,A",
            '"Register\r\nBcc: x",Stadt Wien,https://www.wien.gv.at/,register,',
        ]
    )
    response = await api.post(
        "/v1/imports",
        content=csv_file(line, header=CSV_HEADER),
        headers={"Content-Type": "text/csv"},
        role=Role.admin,
    )

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (2, "source_title"), error
    assert "single line" in error["detail"], error


# --- lone surrogates ---------------------------------------------------------------------------

PROFILES_SURROGATES = [
    pytest.param(
        "/v1/cities/PTLIS/challenges",
        {"theme": "health", "need_type": "resources", "description": {"en": "@1"}},
        "description",
        id="challenge description (language map)",
    ),
    pytest.param("/v1/cities", new_city(names={"en": "@1"}), "names", id="city names"),
    pytest.param(
        "/v1/cities",
        new_city(focal_points=[{"kind": "technical", "name": "A. B.", "position": "@1"}]),
        "focal_points.0.position",
        id="focal point (JSON column)",
    ),
    pytest.param(
        "/v1/indicators",
        {
            "code": "text_test_indicator",
            "names": {"en": "Text test"},
            "descriptions": {"en": "@1"},
            "theme": "health",
            "unit": "persons",
        },
        "descriptions",
        id="indicator descriptions",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), PROFILES_SURROGATES)
async def test_profiles_refuses_a_lone_surrogate_in_json_columns_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.post(
        path,
        content=raw_json(body, value="@1"),
        headers={"Content-Type": "application/json"},
        role=Role.admin,
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {field}, problem
    assert "surrogate" in problem["errors"][0]["detail"], problem


DIALOGUE_SURROGATES = [
    pytest.param("/v1/events", new_event(title={"en": "@1"}), "title", id="event title"),
    pytest.param(
        "/v1/events", new_event(description={"en": "@1"}), "description", id="description"
    ),
    pytest.param("/v1/people", new_person(name="@1"), "name", id="person name"),
]


@pytest.mark.parametrize(("path", "body", "field"), DIALOGUE_SURROGATES)
async def test_dialogue_refuses_a_lone_surrogate_in_json_columns_naming_the_field(
    dialogue: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await dialogue.post(
        path,
        content=raw_json(body, value="@1"),
        headers={"Content-Type": "application/json"},
        role=Role.admin,
    )

    problem = assert_problem(response, 422)
    assert error_fields(problem) == {field}, problem


@pytest.mark.parametrize("document", ["profiles", "dialogue"])
async def test_the_openapi_documents_say_which_fields_are_one_line(
    api: Api, dialogue: Api, document: str
) -> None:
    client = api if document == "profiles" else dialogue
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    expected = {
        "profiles": [
            ("SourceCreate", "title"),
            ("SourceCreate", "publisher"),
            ("FocalPoint", "name"),
        ],
        "dialogue": [("PersonCreate", "name"), ("PersonCreate", "organisation")],
    }[document]

    for schema, name in expected:
        declared = schemas[schema]["properties"][name]
        patterns = [declared.get("pattern")] + [
            option.get("pattern") for option in declared.get("anyOf", [])
        ]
        assert SINGLE_LINE_PATTERN in patterns, (schema, name, declared)


def test_the_mail_sender_setting_must_be_one_line() -> None:
    with pytest.raises(ValidationError, match="single line"):
        Settings(mail_from="MC2CM <no-reply@example.org>\r\nBcc: victim@example.org")
