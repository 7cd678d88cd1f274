"""HTTP caching of reads (shared/caching.py) and the lists' next links (shared/pagination.py).

Every GET operation whose OpenAPI document gives its 200 an ``ETag`` is called with a valid
request (tests/shared/access_calls.py), as an anonymous caller where it may be, and again with
``If-None-Match``: a 304 without a body, with the same ``ETag``, ``Vary`` and ``Cache-Control``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from services.profiles_api.app import create_app as create_profiles_app
from shared.access_matrix import callers_of
from shared.caching import ConditionalGetMiddleware, body_etag, none_match, weak_etag
from tests.conftest import client_in_transaction, make_settings
from tests.factories import Api, if_match, observation
from tests.shared.access_calls import BUILDERS, World
from tests.shared.test_authorisation_matrix import _apps

#: Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5).
REPEATED = ("etag", "vary", "cache-control")


def _reads_with_an_etag() -> list[tuple[str, str]]:
    return sorted(
        (service, operation["operationId"])
        for service, app in _apps().items()
        for item in app.openapi()["paths"].values()
        for method, operation in item.items()
        if method == "get" and "ETag" in operation["responses"]["200"].get("headers", {})
    )


READS = _reads_with_an_etag()


def test_the_reads_of_both_apis_document_an_etag() -> None:
    assert ("profiles", "list_cities") in READS and ("dialogue", "list_events") in READS, READS


@pytest.mark.parametrize(("service", "operation_id"), READS)
async def test_a_read_answers_304_to_its_own_etag(
    api: Api, dialogue: Api, session: AsyncSession, service: str, operation_id: str
) -> None:
    world = World(api, dialogue, session)
    call = await BUILDERS[(service, operation_id)](world)
    client = world.client(service)
    anonymous = "anonymous" in (callers_of(service, operation_id) or ())
    role = None if anonymous else Api.ADMIN
    first = await client.get(call.url, headers=call.headers, role=role)
    if first.status_code == 202:
        # A PDF still rendering: no representation yet, so nothing to tag.
        assert "etag" not in first.headers, first.headers
        return
    assert first.status_code == 200, f"{call.url}: {first.status_code} {first.text[:300]}"
    tag = first.headers.get("etag")
    assert tag, f"{call.url} sent no ETag"
    assert first.headers["cache-control"] == "no-cache, " + ("public" if anonymous else "private")
    assert "Authorization" in first.headers["vary"], first.headers["vary"]
    again = await client.get(call.url, headers={**call.headers, "If-None-Match": tag}, role=role)
    assert again.status_code == 304, f"{call.url} with If-None-Match {tag}: {again.status_code}"
    assert again.content == b"", again.content[:200]
    assert {name: again.headers.get(name) for name in REPEATED} == {
        name: first.headers.get(name) for name in REPEATED
    }


async def test_an_other_tag_or_none_is_answered_in_full(api: Api) -> None:
    first = await api.get("/v1/cities")
    tag = first.headers["etag"]
    assert tag == body_etag(first.content, first.headers["content-type"]), tag

    for sent in ('"other"', 'W/"other", "more"'):
        response = await api.get("/v1/cities", headers={"If-None-Match": sent})
        assert response.status_code == 200 and response.content == first.content, sent
    for sent in ("*", f'"x", W/{tag}'):
        assert none_match(sent, tag), sent
        response = await api.get("/v1/cities", headers={"If-None-Match": sent})
        assert response.status_code == 304, sent


async def test_a_city_change_changes_the_etag_of_the_reads_it_affects(api: Api) -> None:
    urls = ("/v1/cities", "/v1/cities/PTLIS", "/v1/cities/PTLIS/profile")
    before = {url: await api.get(url) for url in urls}
    changed = await api.patch(
        "/v1/cities/PTLIS",
        json={"names": {"en": "Lisbon (changed)", "pt": "Lisboa"}},
        headers=if_match(before["/v1/cities/PTLIS"]),
        role=Api.ADMIN,
    )
    assert changed.status_code == 200, changed.text

    for url, response in before.items():
        again = await api.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 200, f"{url} still answers 304 after the city changed"
        assert again.headers["etag"] != response.headers["etag"], url


async def test_a_new_figure_changes_the_etag_of_the_reads_that_show_it(api: Api) -> None:
    urls = (
        "/v1/observations?city=ITTRN&indicator=foreign_nationals",
        "/v1/compare?indicator=foreign_nationals&cities=ITTRN,PTLIS",
        "/v1/cities/ITTRN/profile",
    )
    before = {url: await api.get(url) for url in urls}
    figure = observation(period="2031", value=150001)
    written = await api.post("/v1/observations", json={"observations": [figure]}, role=Api.ADMIN)
    assert written.status_code == 200, written.text

    for url, response in before.items():
        assert response.status_code == 200, f"{url}: {response.text}"
        again = await api.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 200, f"{url} still answers 304 after a new figure"
        assert "150001" in again.text, f"{url} does not show the new figure"


async def test_a_list_links_its_next_page_as_next_cursor_does(api: Api) -> None:
    url = "/v1/cities?limit=2&region=europe"
    seen: list[str] = []
    while url:
        response = await api.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [city["code"] for city in body["items"]]
        link = response.headers.get("link")
        if body["next_cursor"] is None:
            assert link is None, link
            break
        target = link.removeprefix("<").split(">;", 1)[0]
        assert link.endswith('>; rel="next"') and target.startswith("/v1/cities?"), link
        query = parse_qs(urlsplit(target).query)
        assert query == {"limit": ["2"], "region": ["europe"], "cursor": [body["next_cursor"]]}
        url = target

    assert len(seen) > 2 and len(seen) == len(set(seen)), seen


@pytest.fixture(scope="module")
async def prefixed_app(database_url: str, server_urls: tuple[str, str]) -> AsyncIterator[FastAPI]:
    app = create_profiles_app(make_settings(database_url, server_urls[1], root_path="/profiles"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.mark.parametrize("path", ["/v1/indicators", "/profiles/v1/indicators"])
async def test_the_next_link_is_under_the_root_path(
    prefixed_app: FastAPI, connection: AsyncConnection, path: str
) -> None:
    settings = prefixed_app.state.settings
    async with client_in_transaction(prefixed_app, connection, settings, "http://p.test") as api:
        response = await api.get(path, params={"limit": 1, "theme": "demography"})

    assert response.status_code == 200, response.text
    cursor = response.json()["next_cursor"]
    expected = f'</profiles/v1/indicators?limit=1&theme=demography&cursor={cursor}>; rel="next"'
    assert response.headers["link"] == expected


async def test_a_streamed_body_keeps_its_own_weak_tag_or_gets_none() -> None:
    started: list[bool] = []

    def rows() -> Iterator[bytes]:
        started.append(True)
        for row in range(3):
            yield f"{row}\r\n".encode()

    async def export(request: Request) -> StreamingResponse:
        tagged = request.query_params.get("tagged") == "1"
        headers = {"ETag": weak_etag("observations", 42)} if tagged else {}
        return StreamingResponse(rows(), media_type="text/csv", headers=headers)

    app = ConditionalGetMiddleware(Starlette(routes=[Route("/export", export)]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as client:
        untagged = await client.get("/export")
        tagged = await client.get("/export?tagged=1")
        again = await client.get(
            "/export?tagged=1", headers={"If-None-Match": tagged.headers["etag"]}
        )

    assert untagged.text == "0\r\n1\r\n2\r\n" and "etag" not in untagged.headers
    assert tagged.headers["etag"].startswith('W/"'), tagged.headers
    assert (again.status_code, again.content) == (304, b""), again.headers
    assert again.headers["etag"] == tagged.headers["etag"]
    # The 304's stream was stopped before its first row was read (two full reads above).
    assert len(started) == 2, started


EXPORTS = ("csv", "sdmx-csv", "xlsx")
TURIN = "/v1/observations?city=ITTRN&indicator=foreign_nationals&format="


async def _not_modified(api: Api, url: str, tag: str, **kwargs: object) -> bool:
    response = await api.get(url, headers={"If-None-Match": tag}, **kwargs)  # type: ignore[arg-type]
    assert response.status_code in (200, 304), f"{url}: {response.status_code}"
    if response.status_code == 304:
        assert response.content == b"" and "content-type" not in response.headers, url
    return response.status_code == 304


@pytest.mark.parametrize("output_format", EXPORTS)
async def test_an_export_has_a_weak_tag_of_its_data_version(api: Api, output_format: str) -> None:
    url = TURIN + output_format
    # The figures below cite a source this write makes (a new source is a catalogue change).
    lisbon = observation(city="PTLIS", period="2031", value=5)
    written = await api.post("/v1/observations", json={"observations": [lisbon]}, role=Api.ADMIN)
    assert written.status_code == 200, written.text
    first = await api.get(url)
    assert first.status_code == 200, first.text[:300]
    tag = first.headers["etag"]
    assert tag.startswith('W/"'), tag
    assert first.headers["cache-control"] == "no-cache, public"
    assert await _not_modified(api, url, tag)

    # Another city's figure leaves Turin's export as it was.
    lisbon = observation(city="PTLIS", period="2032", value=6)
    written = await api.post("/v1/observations", json={"observations": [lisbon]}, role=Api.ADMIN)
    assert written.status_code == 200, written.text
    assert await _not_modified(api, url, tag)

    # Turin's new figure is a new version.
    turin = observation(period="2031", value=150001)
    written = await api.post("/v1/observations", json={"observations": [turin]}, role=Api.ADMIN)
    assert written.status_code == 200, written.text
    assert not await _not_modified(api, url, tag)


async def test_an_export_tag_changes_with_the_catalogue_the_caller_and_the_format(
    api: Api,
) -> None:
    url = TURIN + "csv"
    tag = (await api.get(url)).headers["etag"]
    other_formats = {(await api.get(TURIN + other)).headers["etag"] for other in EXPORTS}
    assert len(other_formats) == len(EXPORTS) and tag in other_formats
    # An editor of Turin sees its small counts: another representation.
    assert not await _not_modified(api, url, tag, role=Api.EDITOR, cities=("ITTRN",))

    listed = await api.get("/v1/observations?city=ITTRN&indicator=foreign_nationals&limit=1")
    source_id = listed.json()["items"][0]["source"]["id"]
    source = await api.get(f"/v1/sources/{source_id}")
    changed = await api.patch(
        f"/v1/sources/{source_id}",
        role=Api.ADMIN,
        headers={"If-Match": source.headers["etag"]},
        json={"publisher": "Città di Torino"},
    )
    assert changed.status_code == 200, changed.text
    assert not await _not_modified(api, url, tag)
