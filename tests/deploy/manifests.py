"""Reading the deployment files as the tools that run them would: the compose file, the
Kubernetes manifests (rendered by ``kubectl kustomize`` where it is installed, parsed with
PyYAML in any case), the Dockerfile's instructions, and the ``mc2cm`` commands they name."""

from __future__ import annotations

import functools
import inspect
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import arq.worker
import typer
import typer.core
import typer.main
import yaml

from services.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
#: The Secret every pod reads, which the operators create (README, "Kubernetes").
SECRET_NAME = "mc2cm-secrets"
#: Defaults of the settings the grace periods are checked against (shared/settings.py and
#: the operations contract: MC2CM_SHUTDOWN_GRACE_SECONDS defaults to 20).
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20.0
DEFAULT_JOB_TIMEOUT_SECONDS = 120.0
#: What an orchestrator's kill deadline must leave beyond a process's own wait after SIGTERM
#: (docs/decisions.md, "Operations": at least the grace plus 10 s).
KILL_MARGIN_SECONDS = 10.0
#: How long the profiles API lets an import in flight finish when it is stopped (a rollout,
#: a scale-down, a restart): a large CSV file takes minutes (docs/decisions.md, "Deployment").
IMPORT_GRACE_SECONDS = 300.0
#: Connections a worker's pool needs beside its jobs': the outbox relay, /readyz and the
#: outbox gauges of /metrics.
WORKER_OWN_CONNECTIONS = 3
#: How long ingress-nginx keeps an idle connection to a pod (``upstream-keepalive-timeout``).
INGRESS_NGINX_KEEPALIVE_SECONDS = 60.0
#: Connections beyond the pools (README, "Scaling"): a worker's LISTEN, a migration's lock and
#: work, and what administration keeps in reserve.
LISTEN_CONNECTIONS = 1
MIGRATION_CONNECTIONS = 2
ADMIN_CONNECTIONS = 10
README = ROOT / "README.md"


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def pool_size(environment: dict[str, str]) -> int:
    """Connections a process with ``environment`` may hold: its pool and the overflow."""
    from shared.settings import Settings

    fields = Settings.model_fields
    pool = environment.get("MC2CM_DB_POOL_SIZE", fields["db_pool_size"].default)
    overflow = environment.get("MC2CM_DB_MAX_OVERFLOW", fields["db_max_overflow"].default)
    return int(pool) + int(overflow)


def readme_section(heading: str) -> str:
    """The text of the README's ``## heading`` section."""
    text = README.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def worker_max_jobs() -> int:
    """Jobs a worker runs at once: arq's default, as services/worker/app.py sets no other."""
    builder = (ROOT / "services" / "worker" / "app.py").read_text()
    assert "max_jobs" not in builder, "the worker sets max_jobs: read it from there"
    default: int = inspect.signature(arq.worker.Worker).parameters["max_jobs"].default
    return default


@functools.cache
def _documented(api: str) -> dict[str, Any]:
    """The paths of ``api``'s OpenAPI document, and the app's routes."""
    from services.dialogue_api.app import create_app as dialogue_app
    from services.profiles_api.app import create_app as profiles_app
    from shared.settings import Settings

    factory = {"profiles": profiles_app, "dialogue": dialogue_app}[api]
    app = factory(Settings(database_url="postgresql://unused/unused", redis_url="redis://unused"))
    return {"paths": app.openapi()["paths"], "routes": [getattr(r, "path", "") for r in app.routes]}


def _filled(path: str) -> str:
    return re.sub(r"\{\w+\}", "X", path)


@functools.cache
def api_paths(api: str) -> tuple[list[str], list[str]]:
    """The paths ``api`` serves under its prefix, path parameters filled in: (public paths:
    its API, docs and OpenAPI document; the operations endpoints: health, readiness, metrics).
    Its public pages, served at the root, are ``page_paths``."""
    document = _documented(api)
    documented = [_filled(path) for path in document["paths"]]
    docs = [path for path in document["routes"] if path in _PAGES]
    # ``/v1`` itself is the API's index, for the public as the rest of ``/v1``.
    public = [path for path in documented if path == "/v1" or path.startswith("/v1/")] + docs
    operations = [path for path in documented if path not in public and path not in page_paths(api)]
    return public, operations


@functools.cache
def page_paths(api: str) -> list[str]:
    """The public HTML pages ``api`` serves (its operations tagged ``pages``), path parameters
    filled in: the proxy and the Ingress route them at the root, without the API's prefix."""
    return [
        _filled(path)
        for path, item in _documented(api)["paths"].items()
        if "pages" in item.get("get", {}).get("tags", ())
    ]


_PAGES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


def example_environment() -> dict[str, str]:
    """The variables deploy/.env.example sets (its lines not commented out), with their values."""
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def nginx_upstream_keepalive_timeouts(config: str) -> dict[str, float | None]:
    """Each ``upstream`` block of an nginx configuration: its ``keepalive_timeout`` in seconds
    (``None`` when it sets none)."""
    timeouts: dict[str, float | None] = {}
    for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", config):
        setting = re.search(r"^\s*keepalive_timeout\s+(\S+?);", body, re.MULTILINE)
        timeouts[name] = seconds(setting[1]) if setting else None
    return timeouts


def kubectl() -> str | None:
    return shutil.which("kubectl")


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """The manifests ``kubectl kustomize`` renders for ``directory``."""
    command = kubectl()
    assert command is not None
    rendered = subprocess.run(
        [command, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


def base_resources() -> list[dict[str, Any]]:
    """The base's resources as written (every file its kustomization lists), without kubectl."""
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    documents = []
    for name in kustomization["resources"]:
        documents += [doc for doc in yaml.safe_load_all((K8S_BASE / name).read_text()) if doc]
    return documents + base_config_maps()


def base_config_maps() -> list[dict[str, Any]]:
    """The ConfigMaps the base's ``configMapGenerator`` makes (names without their hash)."""
    kustomization = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    return [
        {
            "kind": "ConfigMap",
            "metadata": {"name": generator["name"]},
            "data": dict(literal.split("=", 1) for literal in generator.get("literals", [])),
        }
        for generator in kustomization.get("configMapGenerator", [])
    ]


def of_kind(resources: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container_env(
    container: dict[str, Any], config_maps: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """The environment a container gets from its ConfigMaps and its own ``env`` (which wins)."""
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment |= config_maps[source["configMapRef"]["name"]].get("data", {})
    environment |= {item["name"]: item["value"] for item in container.get("env", [])}
    return environment


def cli_commands() -> typer.core.TyperGroup:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    return command


def parse_cli(args: Sequence[str]) -> str:
    """Parse ``mc2cm <args>`` as the command line would (arguments, choices, option types);
    the command's name. Raises typer's usage errors for anything ``mc2cm`` would refuse."""
    group = cli_commands()
    name, *rest = args
    command = group.commands.get(name)
    if command is None:
        raise typer.BadParameter(f"mc2cm has no command {name!r}")
    with command.make_context(f"mc2cm {name}", list(rest)):
        return name


def dockerfile_instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        instruction, _, arguments = logical.partition(" ")
        yield instruction.upper(), arguments.strip()
        logical = ""


def seconds(duration: str | int | float) -> float:
    """A compose duration (``30s``, ``2m30s``, ``150``) in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in duration:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * units[char]
            number = ""
    return total + (float(number) if number else 0.0)
