"""The deployment, proven without a container engine: every role of deploy/compose.yaml runs
as its own process, with the image's command (``mc2cm migrate``, ``mc2cm serve profiles``,
``mc2cm serve dialogue``, ``mc2cm worker``) and its compose environment, against this
machine's PostgreSQL and Redis, behind nginx serving the compose proxy's own routes
(deploy/nginx/routes.conf). A short scenario goes through the proxy only; then SIGTERM, with a
request and a job in flight, loses neither (a test that finds the roles stopped starts them
again, so each test stands alone).

nginx is installed by .ci/run (Debian's nginx-light); under CI this test fails without it,
elsewhere it is skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from shared.auth import Role, issue_token
from shared.settings import Settings, to_libpq_url
from tests.conftest import create_database, drop_database
from tests.dialogue.factories import new_event, new_person
from tests.e2e.stack import (
    HOST,
    MailSink,
    compose_role,
    find_nginx,
    free_port,
    nginx_config,
    start_nginx,
    wait_for,
)
from tests.e2e.stack import Role as Process
from tests.factories import csv_file

MC2CM = str(Path(sys.executable).with_name("mc2cm"))
#: A year no demo figure has: the network aggregate of it is made of this test's rows only.
PERIOD = "2031"
SOURCE = "Deployment test register,Statistics office,https://stats.example.org/deploy,register"
FIGURES = {"GRATH": 87012, "PTLIS": 100000}


@dataclass
class Platform:
    """The running platform: the proxy's address, the processes, what the test set up."""

    url: str
    roles: dict[str, Process]
    nginx: Process
    database_url: str
    redis_url: str
    rate_limit_prefix: str
    settings: Settings
    sink: MailSink
    ports: dict[str, int]

    def start_roles(self) -> None:
        """Start every role that is not running (all of them at first; after the SIGTERM
        test, again) and return once the proxy serves both APIs and the worker is ready."""
        for role in self.roles.values():
            if not role.running():
                role.start(MC2CM)
        every = [*self.roles.values(), self.nginx]
        for api in ("profiles", "dialogue"):
            # Ready as the orchestrator asks (the API's own port), then served by the proxy.
            ready = f"http://{HOST}:{self.ports[api]}/readyz"
            wait_for(
                lambda ready=ready: httpx.get(ready, timeout=2).status_code == 200,
                timeout=60,
                what=f"{api}'s /readyz",
                roles=every,
            )
            public = f"{self.url}/{api}/openapi.json"
            wait_for(
                lambda public=public: httpx.get(public, timeout=2).status_code == 200,
                timeout=30,
                what=f"/{api}/openapi.json through the proxy",
                roles=every,
            )
        worker = f"http://{HOST}:{self.ports['metrics']}/readyz"
        wait_for(
            lambda: httpx.get(worker, timeout=2).status_code == 200,
            timeout=60,
            what="the worker's /readyz",
            roles=every,
        )

    def headers(self, **extra: str) -> dict[str, str]:
        token = issue_token(self.settings, subject="ops@deploy.test", role=Role.admin)
        return {"Authorization": f"Bearer {token}", **extra}

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **options)

    def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            connection = await asyncpg.connect(self.database_url)
            try:
                return list(await connection.fetch(sql, *args))
            finally:
                await connection.close()

        return asyncio.run(run())


def _redis_url(server: str) -> str:
    """The test Redis server, database 11: the queue and its keys stay apart from the suite's
    (an embedded Redis, on a unix socket, is this run's own anyway)."""
    if not server.startswith(("redis://", "rediss://")):
        return server
    return make_url(server).set(database="11").render_as_string(False)


def _run_once(role: Process, processes: list[Process], timeout: float = 120) -> None:
    """Run a one-shot role to its end; ``processes`` holds it, so that it is stopped with
    the others if it outlasts ``timeout``."""
    processes.append(role)
    role.start(MC2CM)
    code = role.wait(timeout)
    assert code == 0, role.tail()


@pytest.fixture(scope="module")
def platform(
    server_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    nginx = find_nginx()
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: .ci/run installs it from Debian's packages")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    directory = tmp_path_factory.mktemp("deploy")
    database_url = asyncio.run(create_database(server_urls[0], "mc2cm_deploy"))
    sink = MailSink()
    sink.start()
    processes: list[Process] = []
    try:
        secret = secrets.token_urlsafe(48)
        run = uuid.uuid4().hex[:8]
        ports = {name: free_port() for name in ("profiles", "dialogue", "metrics", "proxy")}
        redis_url = _redis_url(server_urls[1])
        rate_limit_prefix = f"mc2cm-deploy-{run}:rate-limit"
        common = {
            "MC2CM_DATABASE_URL": database_url,
            "MC2CM_REDIS_URL": redis_url,
            "MC2CM_JWT_SECRET": secret,
            "MC2CM_QUEUE_NAME": f"mc2cm-deploy-{run}",
            "MC2CM_RATE_LIMIT_KEY_PREFIX": rate_limit_prefix,
            "MC2CM_SMTP_HOST": HOST,
            "MC2CM_SMTP_PORT": str(sink.port),
            # Compose's `http://profiles:8000`, on this machine.
            "MC2CM_PROFILES_API_URL": f"http://{HOST}:{ports['profiles']}",
        }
        worker_only = {
            "MC2CM_METRICS_HOST": HOST,
            "MC2CM_METRICS_PORT": str(ports["metrics"]),
            "MC2CM_HEALTHCHECK_URL": f"http://{HOST}:{ports['metrics']}/healthz",
        }

        def role(service: str, port: int | None = None, **extra: str) -> Process:
            return compose_role(
                service, port=port, replace=common | extra, log=directory / f"{service}.log"
            )

        # As compose does: the one-shot migration first, then (an operator's first step on a
        # new database) the network's cities and catalogue, then the roles.
        _run_once(role("migrate"), processes)
        seed = role("migrate")
        seed.args, seed.name, seed.log = ["seed"], "seed", directory / "seed.log"
        _run_once(seed, processes)
        roles = {
            "profiles": role("profiles", ports["profiles"]),
            "dialogue": role("dialogue", ports["dialogue"]),
            "worker": role("worker", **worker_only),
        }
        processes += roles.values()
        config = nginx_config(
            directory,
            listen=ports["proxy"],
            upstreams={"profiles": ports["profiles"], "dialogue": ports["dialogue"]},
        )
        proxy = start_nginx(nginx, directory, config)
        processes.append(proxy)
        platform = Platform(
            url=f"http://{HOST}:{ports['proxy']}",
            roles=roles,
            nginx=proxy,
            database_url=to_libpq_url(database_url),
            redis_url=redis_url,
            rate_limit_prefix=rate_limit_prefix,
            settings=Settings(jwt_secret=secret),
            sink=sink,
            ports=ports,
        )
        platform.start_roles()
        yield platform
    finally:
        for process in processes:
            process.stop()
        sink.stop()
        asyncio.run(drop_database(database_url))


@pytest.fixture(autouse=True)
def _roles_running(platform: Platform) -> None:
    platform.start_roles()


@dataclass
class Imported:
    """What the scenario set up: Athens, and figures of Athens and Lisbon imported with a
    request id of the test's, whose network aggregate the worker has computed."""

    athens: httpx.Response
    request_id: str
    aggregate: dict[str, Any]


@pytest.fixture(scope="module")
def imported(platform: Platform) -> Imported:
    platform.start_roles()
    roles = list(platform.roles.values())
    with platform.client() as proxy:
        athens = proxy.post(
            "/profiles/v1/cities",
            headers=platform.headers(),
            json={
                "code": "GRATH",
                "names": {"en": "Athens"},
                "country": "GR",
                "region": "europe",
                "latitude": 37.98,
                "longitude": 23.73,
                "timezone": "Europe/Athens",
                "membership": {"status": "expected", "since": "2026-01-15"},
            },
        )
        assert athens.status_code == 201, athens.text
        request_id = f"deploy-import-{uuid.uuid4().hex}"
        rows = [
            f"{city},foreign_nationals,{PERIOD},municipality,,{value},,,A,{SOURCE},"
            for city, value in FIGURES.items()
        ]
        imported = proxy.post(
            "/profiles/v1/imports",
            content=csv_file(*rows),
            headers=platform.headers(**{"Content-Type": "text/csv", "X-Request-ID": request_id}),
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["inserted"] == len(FIGURES), imported.json()
        assert imported.headers["x-request-id"] == request_id

        def network_total() -> dict[str, Any] | None:
            page = proxy.get(
                "/profiles/v1/aggregates",
                params={
                    "indicator": "foreign_nationals",
                    "period": PERIOD,
                    "group": "network",
                    "disaggregation": "",
                },
            ).json()
            return page["items"][0] if page["items"] else None

        total = wait_for(network_total, timeout=30, what="the network aggregate", roles=roles)
    return Imported(athens=athens, request_id=request_id, aggregate=total)


# --- the scenario, through the proxy only ------------------------------------------------------


def test_a_city_its_figures_and_a_registration_go_through_the_proxy(
    platform: Platform, imported: Imported
) -> None:
    roles = list(platform.roles.values())
    with platform.client() as proxy:
        # The Location names the proxy's prefix, so it leads back to the city.
        assert imported.athens.headers["location"] == "/profiles/v1/cities/GRATH"
        assert proxy.get(imported.athens.headers["location"]).json()["code"] == "GRATH"

        total = imported.aggregate
        assert total["value"] == sum(FIGURES.values()), total
        assert total["cities"] == sorted(FIGURES), total

        # The worker told the dialogue about Athens; a person of Athens registers for an event.
        wait_for(
            lambda: proxy.get("/dialogue/v1/cities/GRATH").status_code == 200,
            timeout=30,
            what="Athens known to the dialogue",
            roles=roles,
        )
        person = proxy.post(
            "/dialogue/v1/people",
            headers=platform.headers(),
            json=new_person(city="GRATH", email="eleni.deploy@example.org", languages=["en"]),
        )
        assert person.status_code == 201, person.text
        event = proxy.post(
            "/dialogue/v1/events",
            headers=platform.headers(),
            json=new_event(host_city="GRATH", participating_cities=["PTLIS"]),
        )
        assert event.status_code == 201, event.text
        assert event.headers["location"].startswith("/dialogue/v1/events/"), event.headers
        registered = proxy.post(
            f"/dialogue/v1/events/{event.json()['id']}/registrations",
            headers=platform.headers(),
            json={"person": person.json()["id"], "status": "registered"},
        )
        assert registered.status_code == 201, registered.text

    (mail,) = wait_for(
        lambda: platform.sink.to("eleni.deploy@example.org"),
        timeout=30,
        what="the registration's mail at the SMTP server",
        roles=roles,
    )
    assert mail["Subject"], mail


def test_each_api_names_its_prefix_and_the_proxy_keeps_its_routes(platform: Platform) -> None:
    with platform.client() as proxy:
        for prefix in ("/profiles", "/dialogue"):
            document = proxy.get(f"{prefix}/openapi.json").json()
            assert document["servers"] == [{"url": prefix}], document.get("servers")
            docs = proxy.get(f"{prefix}/docs")
            assert f"'{prefix}/openapi.json'" in docs.text
            moved = proxy.get(prefix)
            assert (moved.status_code, moved.headers["location"]) == (308, f"{prefix}/docs")
            for private in ("metrics", "readyz", "healthz"):
                hidden = proxy.get(f"{prefix}/{private}")
                assert hidden.status_code == 404, f"{prefix}/{private} is not for the public"
                assert hidden.headers["content-type"] == "application/problem+json"
        elsewhere = proxy.get("/wp-admin")
        assert elsewhere.status_code == 404 and elsewhere.json()["status"] == 404
    # An Ingress that does not strip the prefix reaches the same routes.
    direct = httpx.get(f"http://{HOST}:{platform.ports['profiles']}/profiles/v1/themes")
    assert direct.status_code == 200, direct.text


def _healthcheck(url: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.healthcheck"],
        env={**os.environ, "MC2CM_HEALTHCHECK_URL": url},
        capture_output=True,
        timeout=10,
    ).returncode


def test_the_image_health_check_passes_on_each_api(platform: Platform) -> None:
    for api in ("profiles", "dialogue"):
        assert _healthcheck(f"http://{HOST}:{platform.ports[api]}/healthz") == 0, api


def test_anonymous_writes_are_counted_by_the_address_the_proxy_saw(platform: Platform) -> None:
    """A caller who forges X-Forwarded-For does not get rate limits of its own: the proxy
    replaces the header, and the API (which believes it) counts the caller's real address."""
    forged = "203.0.113.7"
    with platform.client() as proxy:
        refused = proxy.post(
            "/profiles/v1/cities", json={"code": "XXFOR"}, headers={"X-Forwarded-For": forged}
        )
    assert refused.status_code == 401, refused.text
    client = redis.Redis.from_url(platform.redis_url)
    try:
        keys = {key.decode() for key in client.scan_iter(f"{platform.rate_limit_prefix}:*")}
    finally:
        client.close()
    assert f"{platform.rate_limit_prefix}:writes:ip:{HOST}" in keys, keys
    assert not [key for key in keys if forged in key], keys


# --- operations: health, metrics and logs of every process ------------------------------------


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def test_worker_and_apis_expose_health_metrics_and_outbox_lag(
    platform: Platform, imported: Imported
) -> None:
    worker = f"http://{HOST}:{platform.ports['metrics']}"
    assert httpx.get(f"{worker}/healthz").status_code == 200
    ready = httpx.get(f"{worker}/readyz")
    assert ready.status_code == 200, ready.text
    assert _healthcheck(f"{worker}/healthz") == 0

    samples = _samples(httpx.get(f"{worker}/metrics").text)
    names = {name for name, _, _ in samples}
    for schema in ("profiles", "dialogue"):
        for metric in ("mc2cm_outbox_lag_seconds", "mc2cm_outbox_pending_events"):
            assert any(
                n == metric and labels.get("schema") == schema for n, labels, _ in samples
            ), f"{metric}{{schema={schema!r}}} missing from the worker's /metrics"
    handled = [
        (labels, value)
        for name, labels, value in samples
        if name == "mc2cm_jobs_total" and labels.get("job") == "handle_event"
    ]
    assert handled and sum(value for _, value in handled) >= 1, handled
    assert {"outcome"} <= set(handled[0][0]), handled
    assert any(n.startswith("mc2cm_job_duration_seconds") for n in names), sorted(names)

    # An import the API process serving now has counted: another test of the module may have
    # restarted it since the module's import (the SIGTERM tests stop and start the roles).
    with platform.client() as proxy:
        city, value = next(iter(FIGURES.items()))
        dry_run = proxy.post(
            "/profiles/v1/imports?dry_run=true",
            content=csv_file(
                f"{city},foreign_nationals,{PERIOD},municipality,,{value},,,A,{SOURCE},"
            ),
            headers=platform.headers(**{"Content-Type": "text/csv"}),
        )
        assert dry_run.status_code == 200, dry_run.text
    api = _samples(httpx.get(f"http://{HOST}:{platform.ports['profiles']}/metrics").text)
    imports = [
        value
        for name, labels, value in api
        if name == "mc2cm_http_requests_total" and labels.get("route") == "/v1/imports"
    ]
    assert imports and sum(imports) >= 1, "requests counted by route"
    assert any(
        name == "mc2cm_outbox_lag_seconds" and labels.get("schema") == "profiles"
        for name, labels, _ in api
    ), "the profiles API shows its outbox's lag"


def test_logs_are_json_and_carry_the_request_id_into_the_jobs(
    platform: Platform, imported: Imported
) -> None:
    request_id = imported.request_id
    records: dict[str, list[dict[str, Any]]] = {}
    for name in ("profiles", "dialogue", "worker"):
        lines = [line for line in platform.roles[name].output().splitlines() if line.strip()]
        assert lines, f"{name} logged nothing"
        records[name] = []
        for line in lines:
            try:
                records[name].append(json.loads(line))
            except ValueError:
                pytest.fail(f"{name} wrote a line that is not JSON: {line!r}")
    # The import's outbox event, and the jobs it caused (relay, aggregation), log its id.
    carrying = [record for record in records["worker"] if record.get("request_id") == request_id]
    assert carrying, f"no worker log line carries the import's request id {request_id}"
    jobs = {record["job"] for record in carrying if record.get("job")}
    assert jobs, f"no line of a job carries the import's request id: {carrying}"


# --- SIGTERM: what is in flight finishes, nothing new is taken ---------------------------------


def _mail_job_in_flight(platform: Platform, held: str) -> None:
    """A job in flight: the confirmation mail of a registration, held by the SMTP server."""
    platform.sink.hold_for = held
    with platform.client() as proxy:
        person = proxy.post(
            "/dialogue/v1/people",
            headers=platform.headers(),
            json=new_person(city="PTLIS", email=held),
        )
        assert person.status_code == 201, person.text
        event = proxy.post("/dialogue/v1/events", headers=platform.headers(), json=new_event())
        assert event.status_code == 201, event.text
        registered = proxy.post(
            f"/dialogue/v1/events/{event.json()['id']}/registrations",
            headers=platform.headers(),
            json={"person": person.json()["id"], "status": "registered"},
        )
        assert registered.status_code == 201, registered.text
    assert platform.sink.held.wait(30), "the mail job never reached the SMTP server"


class _SlowImport:
    """A request in flight: a CSV import uploaded slowly through the proxy, from a thread."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.rows = [
            f"ESMAD,foreign_nationals,{year},municipality,,{400000 + year},,,A,{SOURCE},"
            for year in range(2001, 2031)
        ]
        self.first_rows_sent = threading.Event()
        self.answer: dict[str, httpx.Response | BaseException] = {}
        self.thread = threading.Thread(target=self._upload)

    def _body(self) -> Iterator[bytes]:
        yield csv_file(self.rows[0])  # the header and the first row
        self.first_rows_sent.set()
        for line in self.rows[1:]:
            time.sleep(0.1)
            yield (line + "\n").encode()

    def _upload(self) -> None:
        try:
            with self.platform.client() as proxy:
                self.answer["import"] = proxy.post(
                    "/profiles/v1/imports",
                    content=self._body(),
                    headers=self.platform.headers(**{"Content-Type": "text/csv"}),
                )
        except BaseException as exc:  # reported by the assertion of the test
            self.answer["import"] = exc

    def copying(self) -> bool:
        """The import is at the API: its rows stream into PostgreSQL by COPY."""
        active = self.platform.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND query LIKE 'COPY %'"
        )
        return bool(active[0]["n"])


def _sigterm_in_flight(platform: Platform, upload: _SlowImport) -> None:
    """SIGTERM to every role while the import streams and the mail is held: the proxy
    refuses new requests, the worker waits for its job; then the mail is let through."""
    profiles, dialogue, worker = (platform.roles[n] for n in ("profiles", "dialogue", "worker"))
    assert upload.first_rows_sent.wait(10), "the upload did not start"
    wait_for(upload.copying, timeout=10, what="the import's COPY", roles=[profiles])
    for process in (profiles, dialogue, worker):
        process.signal(signal.SIGTERM)

    # No new request is taken: the proxy answers its own 503 problem at once.
    def refused() -> bool:
        response = httpx.get(f"{platform.url}/dialogue/openapi.json", timeout=2)
        return response.status_code == 503

    wait_for(refused, timeout=10, what="the stopping API refusing new requests")
    # The worker waits for its running job instead of leaving.
    wait_for(
        lambda: "stopping: waiting for" in worker.output(),
        timeout=10,
        what="the worker waiting for its job",
        roles=[worker],
    )
    assert worker.running(), f"the worker left its job running\n{worker.tail()}"
    platform.sink.release()


def _assert_nothing_lost(platform: Platform, held: str, rows: list[str]) -> None:
    """The held mail was sent and recorded, the import's rows are all stored."""
    assert platform.sink.to(held), "the mail held at SIGTERM never arrived"
    (delivery,) = platform.query(
        "SELECT status, attempts FROM dialogue.notification WHERE recipient LIKE $1",
        f"%{held}%",
    )
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1), dict(delivery)
    stored = platform.query(
        "SELECT count(*) AS n FROM profiles.observation WHERE city_code = 'ESMAD' "
        "AND indicator_code = 'foreign_nationals' AND period BETWEEN '2001' AND '2030' "
        "AND source_id = (SELECT id FROM profiles.source WHERE title = 'Deployment test register')"
    )
    assert stored[0]["n"] == len(rows), stored


def test_sigterm_lets_the_request_and_the_job_in_flight_finish(platform: Platform) -> None:
    held = "held.deploy@example.org"
    _mail_job_in_flight(platform, held)
    upload = _SlowImport(platform)
    upload.thread.start()
    try:
        _sigterm_in_flight(platform, upload)
    finally:
        upload.thread.join(timeout=60)
        platform.sink.hold_for = None
    result = upload.answer["import"]
    assert isinstance(result, httpx.Response), f"the import in flight was cut off: {result!r}"
    assert result.status_code == 200, result.text
    assert result.json()["inserted"] == len(upload.rows), result.json()

    roles = [platform.roles[n] for n in ("profiles", "dialogue", "worker")]
    codes = {process.name: process.wait(timeout=60) for process in roles}
    logs = "\n".join(p.tail() for p in roles)
    assert codes == {"profiles": 0, "dialogue": 0, "worker": 0}, f"{codes}\n{logs}"

    # Nothing lost.
    _assert_nothing_lost(platform, held, upload.rows)
