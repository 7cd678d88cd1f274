"""The observation list's hot path (the driver's records, ``repository.page_records``) answers
byte for byte what the SQLAlchemy rows of ``page_rows`` give through the same serialisation,
on every filter combination the observation tests walk, for every kind of caller, page by
page: the body, its ``next_cursor``, the ``Link`` header and the ``ETag``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.observations.reader import Reader
from services.profiles_api.observations.repository import (
    ObservationFilter,
    ObservationRepository,
)
from services.profiles_api.observations.schemas import observation_json
from services.profiles_api.observations.suppression import Suppression
from shared.auth import Principal, Role
from shared.caching import body_etag
from shared.contracts.themes import Theme
from shared.pagination import PageParams, decode_cursor, page_response
from tests.factories import Api, observation

LIST_NAME = "profiles:list_observations"
REGISTER = {"title": "Register (list paths test)", "kind": "register"}
PRESS = {"title": "Press (list paths test)", "url": "https://example.org/press", "kind": "press"}
SURVEY = {"title": "Survey (list paths test)", "publisher": "Office", "kind": "survey"}


def vienna(**overrides: Any) -> dict[str, Any]:
    return observation(**{"city": "ATVIE", "period": "2019", "source": REGISTER, **overrides})


@pytest.fixture
async def figures(api: Api, session: AsyncSession) -> dict[str, int]:
    """Vienna's figures across indicators, periods, scopes, breakdowns (small counts among
    them), statuses and sources; the sources' ids."""
    response = await api.post(
        "/v1/observations",
        role=Role.admin,
        json={
            "observations": [
                vienna(period="2018", value=900),
                vienna(period="2019", value=1000, note='A "quoted" note, ü'),
                vienna(period="2019", dimensions={"sex": "F"}, value=520),
                vienna(period="2019", dimensions={"sex": "M"}, value=480),
                vienna(period="2019", value=1200, source=PRESS),
                vienna(period="2020", scope="metro", value=1500, obs_status="P"),
                vienna(period="2021", dimensions={"citizenship": "SY"}, value=3),
                vienna(period="2021", dimensions={"citizenship": "DE"}, value=4, source=SURVEY),
                vienna(period="2022", value=None, obs_status="M"),
                vienna(period="2023", value=1100, value_low=1000, value_high=1200, obs_status="E"),
                vienna(
                    indicator="foreign_nationals_share", period="2021", value=31.7, obs_status="E"
                ),
                vienna(indicator="reception_places", period="2021-Q2", value=300, source=SURVEY),
                vienna(
                    indicator="foreign_by_district",
                    period="2021-06",
                    scope="district:01",
                    value=8,
                ),
            ]
        },
    )
    assert response.status_code == 200, response.text
    ids = {}
    for name, source in (("register", REGISTER), ("press", PRESS), ("survey", SURVEY)):
        ids[name] = int(
            await session.scalar(
                text("SELECT id FROM profiles.source WHERE title = :title"),
                {"title": source["title"]},
            )
        )
    return ids


#: (query, the filter it asks for besides its cities): every combination the observation
#: tests walk.
CASES: list[tuple[list[tuple[str, str]], dict[str, Any]]] = [
    ([("city", "ATVIE")], {}),
    ([], {}),
    ([("city", "ATVIE"), ("indicator", "reception_places")], {"indicators": ["reception_places"]}),
    ([("city", "ATVIE"), ("theme", "housing")], {"theme": Theme("housing")}),
    (
        [("city", "ATVIE"), ("period_from", "2021"), ("period_to", "2021-06")],
        {"start": date(2021, 1, 1), "end": date(2021, 6, 30)},
    ),
    ([("city", "ATVIE"), ("period_to", "2018")], {"end": date(2018, 12, 31)}),
    ([("city", "ATVIE"), ("scope", "metro")], {"scope": "metro"}),
    ([("city", "ATVIE"), ("dimension", "sex=F")], {"dimensions": {"sex": "F"}}),
    ([("city", "ATVIE"), ("dimension", "citizenship=SY")], {"dimensions": {"citizenship": "SY"}}),
    (
        [
            ("city", "ATVIE"),
            ("total", "true"),
            ("indicator", "foreign_nationals"),
            ("period_from", "2019"),
        ],
        {"total_only": True, "indicators": ["foreign_nationals"], "start": date(2019, 1, 1)},
    ),
    ([("city", "ATVIE"), ("status", "E")], {"statuses": ["E"]}),
    ([("city", "ATVIE"), ("status", "E"), ("status", "P")], {"statuses": ["E", "P"]}),
    ([("city", "ATVIE"), ("preferred", "true")], {"preferred": True}),
    (
        [
            ("city", "ATVIE"),
            ("indicator", "foreign_nationals"),
            ("period_from", "2019"),
            ("period_to", "2019"),
            ("preferred", "true"),
        ],
        {
            "indicators": ["foreign_nationals"],
            "start": date(2019, 1, 1),
            "end": date(2019, 12, 31),
            "preferred": True,
        },
    ),
    ([("city", "PTLIS"), ("city", "ITTRN")], {}),
    ([("city", "PTLIS,ITTRN,ATVIE")], {}),
    ([("city", "ESMAD")], {}),
]
CALLERS = [
    pytest.param(None, (), id="anonymous"),
    pytest.param(Role.viewer, (), id="viewer"),
    pytest.param(Role.editor, ("ATVIE",), id="editor of Vienna"),
    pytest.param(Role.editor, ("PTLIS",), id="editor of Lisbon"),
    pytest.param(Role.admin, (), id="admin"),
]


async def reference_page(
    session: AsyncSession,
    reader: Reader,
    criteria: ObservationFilter,
    page: PageParams,
) -> tuple[bytes, str | None]:
    """The page as SQLAlchemy's rows give it (``page_rows``, as the list read it before the
    hot path, and as the export and the single read still do): its body and ``Link``."""
    rows = await ObservationRepository.from_session(session).page_rows(criteria, page)
    suppression = await Suppression.load_for(
        session, reader, ((row.city_code, row.disaggregation, row.value) for row in rows)
    )
    response = page_response(
        [observation_json(row, suppression) for row in rows],
        page,
        key=lambda item: [item["city"], item["indicator"], item["period_start"], item["id"]],
        item=lambda item: item,
        headers={"Vary": "Accept"},
    )
    return bytes(response.body), response.headers.get("link")


@pytest.mark.parametrize(("role", "cities"), CALLERS)
@pytest.mark.parametrize("limit", [None, 1, 2, 3, 1000])
async def test_every_page_of_every_filter_is_what_sqlalchemy_rows_give(
    api: Api,
    session: AsyncSession,
    figures: dict[str, int],
    role: Role | None,
    cities: tuple[str, ...],
    limit: int | None,
) -> None:
    principal = (
        None
        if role is None
        else Principal(subject=f"{role.value}@test", role=role, cities=frozenset(cities))
    )
    reader = Reader(principal=principal, suppression_threshold=api.settings.suppression_threshold)
    cases = [
        *CASES,
        (
            [("city", "ATVIE"), ("source_id", str(figures["press"]))],
            {"source_id": figures["press"]},
        ),
    ]
    suppressed = 0
    for query, wanted in cases:
        asked = [code for name, value in query if name == "city" for code in value.split(",")]
        criteria = ObservationFilter(**{"cities": asked, **wanted})
        params = [*query, *([("limit", str(limit))] if limit is not None else [])]
        cursor: str | None = None
        pages = 0
        while True:
            sent = [*params, *([("cursor", cursor)] if cursor is not None else [])]
            response = await api.get("/v1/observations", params=sent, role=role, cities=cities)
            assert response.status_code == 200, (sent, response.text)
            page = PageParams(
                limit=limit or api.settings.pagination_default_limit,
                cursor=decode_cursor(cursor, LIST_NAME) if cursor else None,
                list_name=LIST_NAME,
                link_target=("/v1/observations", tuple(sent)),
            )
            body, link = await reference_page(session, reader, criteria, page)
            assert response.content == body, (sent, response.content, body)
            assert response.headers.get("link") == link, (sent, response.headers)
            assert response.headers["etag"] == body_etag(body, "application/json"), sent
            assert response.headers["vary"].startswith("Accept"), response.headers
            suppressed += response.content.count(b'"status":"suppressed"')
            pages += 1
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert pages >= 1, sent
    # The small counts of Vienna are hidden from who may not edit it, and only from them.
    hidden = role in (None, Role.viewer) or (role is Role.editor and "ATVIE" not in cities)
    assert (suppressed > 0) == hidden, (role, cities, suppressed)


async def test_a_database_error_on_the_hot_path_is_raised_as_sqlalchemy_raises_it(
    session: AsyncSession,
) -> None:
    """The problem handlers and the replicas see the same error on the records path as on
    SQLAlchemy's: here PostgreSQL refuses a NUL in a breakdown filter (22P05)."""
    criteria = ObservationFilter(cities=["ATVIE"], dimensions={"sex": "F\x00"})
    page = PageParams(limit=1, cursor=None)
    repository = ObservationRepository.from_session(session)
    raised: list[DBAPIError] = []
    for read in (repository.page_records, repository.page_rows):
        with pytest.raises(DBAPIError) as error:
            async with session.begin_nested():
                await read(criteria, page)
        raised.append(error.value)
    records_error, rows_error = raised
    assert type(records_error) is type(rows_error), raised
    assert type(records_error.orig) is type(rows_error.orig), raised
    assert records_error.orig.__cause__.sqlstate == "22P05", records_error
    assert records_error.connection_invalidated == rows_error.connection_invalidated, raised
