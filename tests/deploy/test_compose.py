"""deploy/compose.yaml checked without a container engine: against the Compose
Specification's schema, and for what the platform relies on (migrations before anything
else, the roles' commands, prefixes matching the proxy's routes, grace periods)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import typer

from tests.deploy.manifests import (
    COMPOSE_FILE,
    DEFAULT_JOB_TIMEOUT_SECONDS,
    DEPLOY,
    KILL_MARGIN_SECONDS,
    load_compose,
    parse_cli,
    seconds,
)

APP_SERVICES = ("migrate", "profiles", "dialogue", "worker")
API_PREFIXES = {"profiles": "/profiles", "dialogue": "/dialogue"}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in service.get("environment", {}).items()}


def test_the_file_is_valid_against_the_compose_specification() -> None:
    # The schema check-jsonschema ships (vendor.compose-spec), so no network is needed.
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(load_compose(), schema)


def test_docker_compose_resolves_the_file_with_the_example_environment() -> None:
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if not plugin or plugin.returncode != 0:
        pytest.skip("no `docker compose` plugin on this machine (the schema check above ran)")
    env_file = DEPLOY / ".env.example"
    resolved = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
        capture_output=True,
        text=True,
    )
    assert resolved.returncode == 0, resolved.stderr


def test_the_platform_and_its_servers_are_all_there() -> None:
    services = load_compose()["services"]
    assert set(services) == {"postgres", "redis", "proxy", *APP_SERVICES}, sorted(services)
    for server in ("postgres", "redis"):
        assert services[server]["healthcheck"]["test"], f"{server} needs a health check"


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
        assert re.search(rf"location {prefix}/ \{{\s*proxy_pass http://{upstream}/;", routes), (
            f"routes.conf does not send {prefix}/ to {upstream} with the prefix stripped"
        )
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
    worker = services["worker"]
    environment = _environment(worker)
    waits = max(
        float(environment["MC2CM_SHUTDOWN_GRACE_SECONDS"]),
        float(environment.get("MC2CM_JOB_TIMEOUT_SECONDS", DEFAULT_JOB_TIMEOUT_SECONDS)),
    )
    deadline = seconds(worker["stop_grace_period"])
    assert deadline >= waits + KILL_MARGIN_SECONDS, (worker["stop_grace_period"], waits)


def test_the_worker_health_check_and_metrics_use_one_port() -> None:
    environment = _environment(load_compose()["services"]["worker"])
    assert environment["MC2CM_HEALTHCHECK_URL"] == (
        f"http://127.0.0.1:{environment['MC2CM_METRICS_PORT']}/healthz"
    )
    assert environment["MC2CM_METRICS_HOST"] == "0.0.0.0"


def test_every_variable_the_file_requires_is_in_the_example_environment() -> None:
    text = COMPOSE_FILE.read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert required, "the file requires its secrets"
    assert required <= example, required - example
    assert "deploy/.env" in (DEPLOY.parent / ".gitignore").read_text().split()
