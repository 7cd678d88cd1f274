"""The compose proxy (deploy/nginx/nginx.conf with routes.conf), run by nginx in front of
stand-in APIs: plain HTTP servers that record every request reaching them. What the public
reaches and at which path (prefix stripped), what stays private, that a caller cannot choose
the client address the APIs believe, and the proxy's own problems when an API cannot be
reached (503) or does not answer in time (504: the outcome is unknown).

nginx is installed by .ci/run (Debian's nginx-light); under CI these tests fail without it,
elsewhere they are skipped.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.manifests import api_paths, page_paths
from tests.e2e.stack import HOST, find_nginx, free_port, nginx_config, start_nginx, wait_for

#: How long the test's proxy waits for an answer, and how long the stand-in's slow path takes.
READ_TIMEOUT_SECONDS = 1
SLOW_SECONDS = 3
PROBLEM = "application/problem+json"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class StandIn:
    """An HTTP server standing in for an API: answers every request with what it saw, except
    ``/v1/slow`` (answers after SLOW_SECONDS) and ``/v1/busy`` (the API's own 503 problem)."""

    name: str
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stand_in.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
                status, kind = 200, "application/json"
                body: dict[str, Any] = {"api": stand_in.name, "path": self.path}
                if self.path == "/v1/slow":
                    time.sleep(SLOW_SECONDS)
                if self.path == "/v1/busy":
                    status, kind = 503, PROBLEM
                    body = {"type": "urn:mc2cm:problem:service-unavailable", "status": 503}
                content = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:  # the proxy stopped waiting (the slow path)
                    self.close_connection = True

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def nginx() -> str:
    executable = find_nginx()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it from Debian's packages")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return executable


@pytest.fixture
def stand_ins() -> Iterator[dict[str, StandIn]]:
    servers = {name: StandIn(name) for name in ("profiles", "dialogue")}
    yield servers
    for server in servers.values():
        server.stop()


Proxy = Callable[[dict[str, int]], str]


@pytest.fixture
def proxy(nginx: str, tmp_path: Path) -> Iterator[Proxy]:
    """Start the proxy in front of the given upstream ports; its base URL."""
    started = []

    def start(upstreams: dict[str, int]) -> str:
        listen = free_port()
        config = nginx_config(
            tmp_path,
            listen=listen,
            upstreams=upstreams,
            http_extra=f"    proxy_read_timeout {READ_TIMEOUT_SECONDS}s;\n",
        )
        process = start_nginx(nginx, tmp_path, config)
        started.append(process)
        url = f"http://{HOST}:{listen}"
        wait_for(lambda: httpx.get(f"{url}/", timeout=1), timeout=10, what="nginx", roles=[process])
        return url

    yield start
    for process in started:
        process.stop()


def _ports(stand_ins: dict[str, StandIn]) -> dict[str, int]:
    return {name: server.port for name, server in stand_ins.items()}


APIS = ("profiles", "dialogue")
#: (method, path at the proxy, API, path at the API): every path each API documents, its
#: docs pages and its OpenAPI document, and writes with a query string.
PUBLIC = [("GET", f"/{api}{path}", api, path) for api in APIS for path in api_paths(api)[0]] + [
    ("POST", "/profiles/v1/imports?dry_run=true", "profiles", "/v1/imports?dry_run=true"),
    ("POST", "/dialogue/v1/events", "dialogue", "/v1/events"),
]
#: (path at the proxy, API): the public pages, at the root and passed as they are, with the
#: query strings their forms and language switches send.
PAGES = [(path, api) for api in APIS for path in page_paths(api)] + [
    ("/?lang=ar", "profiles"),
    ("/cities/PTLIS/editions?lang=fr", "profiles"),
    ("/compare?indicator=foreign_nationals&cities=ESMAD&cities=PTLIS&lang=en", "profiles"),
    ("/events?lang=ar", "dialogue"),
]
PRIVATE = [
    f"/{api}{path}"
    for api in APIS
    # The pages are at the root only (``/profiles/`` is the docs' redirect, tested below).
    for path in [*api_paths(api)[1], *page_paths(api), "/internal", "/v1x"]
    if path != "/"
] + [
    "/wp-admin",
    "/v1/cities",
    "/metrics",
    "/compare/x",
    "/comparex",
    "/events/1",
    "/events.ics",
    "/index",
]


def test_the_public_reaches_each_api_its_docs_and_openapi_document_without_the_prefix(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    url = proxy(_ports(stand_ins))
    with httpx.Client(base_url=url) as client:
        for method, path, api, upstream_path in PUBLIC:
            answer = client.request(method, path, content=b"a,b\n" if method == "POST" else None)
            assert answer.status_code == 200, (path, answer.status_code, answer.text)
            assert answer.json() == {"api": api, "path": upstream_path}, path
            seen = stand_ins[api].seen[-1]
            assert (seen.method, seen.path) == (method, upstream_path)
            assert seen.headers["Host"] == f"{HOST}:{url.rsplit(':', 1)[1]}", seen.headers
            assert seen.headers["X-Forwarded-Proto"] == "http", seen.headers


def test_the_public_reaches_the_pages_at_the_root_as_they_are(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    assert {path for path, _ in PAGES} >= {"/", "/cities/X", "/compare", "/events"}, PAGES
    url = proxy(_ports(stand_ins))
    with httpx.Client(base_url=url) as client:
        for path, api in PAGES:
            answer = client.get(path, headers={"Accept-Language": "ar"})
            assert answer.status_code == 200, (path, answer.status_code, answer.text)
            assert answer.json() == {"api": api, "path": path}, path
            seen = stand_ins[api].seen[-1]
            assert seen.headers["Accept-Language"] == "ar", seen.headers
            assert seen.headers["X-Forwarded-For"] == HOST, seen.headers
        # The cities are listed on the index.
        moved = client.get("/cities?lang=fr")
        assert (moved.status_code, moved.headers["location"]) == (308, "/?lang=fr")


def test_health_metrics_and_unknown_paths_stay_private(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    url = proxy(_ports(stand_ins))
    for server in stand_ins.values():
        server.seen.clear()  # the proxy's start was awaited by asking for the index page
    with httpx.Client(base_url=url) as client:
        for path in PRIVATE:
            answer = client.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
            assert answer.headers["content-type"] == PROBLEM, path
            assert answer.json()["status"] == 404, path
        for prefix in ("/profiles", "/dialogue"):
            for front in (prefix, f"{prefix}/"):
                moved = client.get(front)
                assert (moved.status_code, moved.headers["location"]) == (308, f"{prefix}/docs")
    reached = [seen.path for server in stand_ins.values() for seen in server.seen]
    assert not reached, f"private paths reached an API: {reached}"


def test_a_caller_cannot_choose_the_client_address_the_apis_believe(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    url = proxy(_ports(stand_ins))
    forged = {"X-Forwarded-For": "203.0.113.7, 198.51.100.9"}
    for path in ("/profiles/v1/observations", "/profiles/v1/imports", "/dialogue/v1/people"):
        answer = httpx.post(f"{url}{path}", headers=forged, content=b"{}")
        assert answer.status_code == 200, answer.text
    for server in stand_ins.values():
        for seen in server.seen:
            assert seen.headers["X-Forwarded-For"] == HOST, (seen.path, seen.headers)


def test_an_api_too_slow_gets_a_504_problem_saying_the_outcome_is_unknown(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    url = proxy(_ports(stand_ins))
    answer = httpx.post(f"{url}/profiles/v1/slow", content=b"{}", timeout=SLOW_SECONDS + 5)
    assert answer.status_code == 504, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == "urn:mc2cm:problem:gateway-timeout", problem
    assert problem["status"] == 504, problem
    assert "unknown" in problem["detail"] and "Idempotency-Key" in problem["detail"], problem
    assert "retry-after" not in answer.headers, "a write may have been carried out"


def test_an_api_that_cannot_be_reached_gets_a_503_problem_to_retry(
    proxy: Proxy, stand_ins: dict[str, StandIn]
) -> None:
    url = proxy({"profiles": stand_ins["profiles"].port, "dialogue": free_port()})
    answer = httpx.get(f"{url}/dialogue/v1/events")
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.headers["retry-after"] == "5"
    problem = answer.json()
    assert problem["type"] == "urn:mc2cm:problem:service-unavailable", problem
    assert problem["status"] == 503, problem
    # An API's own 503 (or any error of its own) passes through untouched.
    own = httpx.get(f"{url}/profiles/v1/busy")
    assert own.status_code == 503 and own.json() == {
        "type": "urn:mc2cm:problem:service-unavailable",
        "status": 503,
    }, own.text
