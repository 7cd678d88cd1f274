"""deploy/compose.yaml checked without a container engine: against the Compose
Specification's schema, and for what the platform relies on (migrations before anything
else, the roles' commands, prefixes matching the proxy's routes, grace periods, connection
pools and keep-alive, no secret in the example environment)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer

from tests.deploy.manifests import (
    ADMIN_CONNECTIONS,
    COMPOSE_FILE,
    DEFAULT_JOB_TIMEOUT_SECONDS,
    DEPLOY,
    IMPORT_GRACE_SECONDS,
    KILL_MARGIN_SECONDS,
    LISTEN_CONNECTIONS,
    WORKER_OWN_CONNECTIONS,
    example_environment,
    load_compose,
    nginx_upstream_keepalive_timeouts,
    parse_cli,
    pool_size,
    readme_section,
    seconds,
    worker_max_jobs,
)

APP_SERVICES = ("migrate", "profiles", "dialogue", "worker")
API_PREFIXES = {"profiles": "/profiles", "dialogue": "/dialogue"}
#: The variables compose refuses to start without (``${NAME:?…}``).
REQUIRED = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in service.get("environment", {}).items()}


def _compose_config(docker: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
    )


def test_the_file_is_valid_against_the_compose_specification() -> None:
    # The schema check-jsonschema ships (vendor.compose-spec), so no network is needed.
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(load_compose(), schema)


def test_docker_compose_resolves_the_file_once_the_example_environment_has_secrets(
    tmp_path: Path,
) -> None:
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if not docker or not plugin or plugin.returncode != 0:
        pytest.skip("no `docker compose` plugin on this machine (the schema check above ran)")
    refused = _compose_config(docker, DEPLOY / ".env.example")
    assert refused.returncode != 0, "compose started with the example's empty secrets"
    filled = tmp_path / ".env"
    example = (DEPLOY / ".env.example").read_text().splitlines()
    filled.write_text(
        "\n".join(
            f"{line}{secrets.token_urlsafe(48)}" if line.rstrip("=") in REQUIRED else line
            for line in example
        )
    )
    resolved = _compose_config(docker, filled)
    assert resolved.returncode == 0, resolved.stderr


def test_the_example_environment_holds_no_secret_and_says_how_to_make_one() -> None:
    example = example_environment()
    assert REQUIRED, "the file requires its secrets"
    missing = REQUIRED - set(example)
    assert not missing, f"compose requires {missing}, which the example does not name"
    # Empty, compose's `${NAME:?…}` refuses to start: an example value cannot reach production.
    filled = {name: value for name, value in example.items() if value}
    assert not filled, f"the example sets values an operator might keep: {filled}"
    text = (DEPLOY / ".env.example").read_text()
    assert "secrets.token_urlsafe(" in text, "the example says how to generate a secret"


def test_the_platform_and_its_servers_are_all_there() -> None:
    services = load_compose()["services"]
    assert set(services) == {"postgres", "redis", "proxy", *APP_SERVICES}, sorted(services)
    for server in ("postgres", "redis"):
        assert services[server]["healthcheck"]["test"], f"{server} needs a health check"


def test_postgres_is_healthy_only_once_it_takes_tcp_connections() -> None:
    """While a new volume is initialised PostgreSQL listens on its unix socket only; the
    migrations connect over TCP, so the check that lets them start must use TCP too."""
    test = load_compose()["services"]["postgres"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "pg_isready"], test
    host = next(
        (test[i + 1] for i, arg in enumerate(test[:-1]) if arg in {"-h", "--host"}),
        next((arg.split("=", 1)[1] for arg in test if arg.startswith("--host=")), None),
    )
    assert host == "127.0.0.1", f"pg_isready checks the unix socket: {test}"


def test_migrations_run_once_before_any_role_starts() -> None:
    services = load_compose()["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no", "a one-shot service"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for role in ("profiles", "dialogue", "worker"):
        depends = services[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", role
        assert depends["redis"]["condition"] == "service_healthy", role


def test_every_role_runs_a_command_mc2cm_accepts_from_the_one_image() -> None:
    services = load_compose()["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, images
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert parse_cli(command) in {"serve", "worker", "migrate"}, command
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["read_only"] is True, f"{name}: the image writes nothing"
    assert services["profiles"]["command"][:2] == ["serve", "profiles"]
    assert services["dialogue"]["command"][:2] == ["serve", "dialogue"]


def test_commands_mc2cm_would_refuse_are_caught() -> None:
    """The check above means something: a typo in a manifest's command fails it."""
    for wrong in (["serve", "profile"], ["serve", "profiles", "--port", "http"], ["migrat"]):
        with pytest.raises(typer.BadParameter):
            parse_cli(wrong)


def test_each_api_serves_the_prefix_the_proxy_routes_to_it() -> None:
    services = load_compose()["services"]
    routes = (DEPLOY / "nginx" / "routes.conf").read_text()
    for name, prefix in API_PREFIXES.items():
        assert _environment(services[name])["MC2CM_ROOT_PATH"] == prefix
        upstream = f"{name}_api"
        assert re.search(
            rf"location {prefix}/v1/ \{{\s*proxy_pass http://{upstream}/v1/;", routes
        ), f"routes.conf does not send {prefix}/v1/ to {upstream} with the prefix stripped"
        assert f"server {name}:8000;" in (DEPLOY / "nginx" / "nginx.conf").read_text()
        assert services[name]["command"][-2:] == ["--port", "8000"]


def test_the_proxy_loads_the_shared_routes() -> None:
    proxy = load_compose()["services"]["proxy"]
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in proxy["volumes"])
    assert mounts["./nginx/nginx.conf"] == "/etc/nginx/nginx.conf"
    routes_at = mounts["./nginx/routes.conf"]
    assert f"include {routes_at};" in (DEPLOY / "nginx" / "nginx.conf").read_text()


def test_grace_periods_outlast_what_each_role_waits_for_after_sigterm() -> None:
    services = load_compose()["services"]
    for name in ("profiles", "dialogue"):
        grace = float(_environment(services[name])["MC2CM_SHUTDOWN_GRACE_SECONDS"])
        assert seconds(services[name]["stop_grace_period"]) >= grace + KILL_MARGIN_SECONDS, name
    imports = float(_environment(services["profiles"])["MC2CM_SHUTDOWN_GRACE_SECONDS"])
    assert imports >= IMPORT_GRACE_SECONDS, "an import in flight at a restart needs minutes"
    worker = services["worker"]
    environment = _environment(worker)
    waits = max(
        float(environment["MC2CM_SHUTDOWN_GRACE_SECONDS"]),
        float(environment.get("MC2CM_JOB_TIMEOUT_SECONDS", DEFAULT_JOB_TIMEOUT_SECONDS)),
    )
    deadline = seconds(worker["stop_grace_period"])
    assert deadline >= waits + KILL_MARGIN_SECONDS, (worker["stop_grace_period"], waits)


def test_the_worker_keeps_a_connection_for_each_job_and_three_more() -> None:
    environment = _environment(load_compose()["services"]["worker"])
    pool, jobs = int(environment["MC2CM_DB_POOL_SIZE"]), worker_max_jobs()
    assert pool >= jobs + WORKER_OWN_CONNECTIONS, (
        f"a pool of {pool} makes the relay and /readyz wait behind {jobs} jobs"
    )


def test_the_proxy_closes_idle_connections_before_the_apis_do() -> None:
    """Otherwise nginx may write a request on a connection the API has just closed: a 502,
    which nginx does not retry for a POST."""
    services = load_compose()["services"]
    timeouts = nginx_upstream_keepalive_timeouts((DEPLOY / "nginx" / "nginx.conf").read_text())
    assert set(timeouts) == {f"{api}_api" for api in API_PREFIXES}, timeouts
    for api in API_PREFIXES:
        keep_alive = float(_environment(services[api])["MC2CM_KEEP_ALIVE_SECONDS"])
        proxy = timeouts[f"{api}_api"]
        assert proxy is not None, f"upstream {api}_api sets no keepalive_timeout (default 60 s)"
        assert proxy < keep_alive, f"{api}: nginx keeps {proxy} s, the API {keep_alive} s"


def test_the_worker_health_check_and_metrics_use_one_port() -> None:
    environment = _environment(load_compose()["services"]["worker"])
    assert environment["MC2CM_HEALTHCHECK_URL"] == (
        f"http://127.0.0.1:{environment['MC2CM_METRICS_PORT']}/healthz"
    )
    assert environment["MC2CM_METRICS_HOST"] == "0.0.0.0"


def test_the_environment_file_with_real_secrets_stays_out_of_git() -> None:
    assert "deploy/.env" in (DEPLOY.parent / ".gitignore").read_text().split()


def test_the_readme_sizes_postgresql_for_compose() -> None:
    """Compose replaces a container only after stopping it (no surge); the migrations run
    before the roles start."""
    services = load_compose()["services"]
    needed = ADMIN_CONNECTIONS + sum(
        pool_size(_environment(services[name])) + (LISTEN_CONNECTIONS if name == "worker" else 0)
        for name in ("profiles", "dialogue", "worker")
    )
    stated = re.search(r"(\d+) with compose", readme_section("Deployment"))
    assert stated, "the README's Scaling no longer sizes compose"
    assert int(stated[1]) == needed, f"README says {stated[1]}, compose needs {needed}"
