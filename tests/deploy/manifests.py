"""Reading the deployment files as the tools that run them would: the compose file, the
Kubernetes manifests (rendered by ``kubectl kustomize`` where it is installed, parsed with
PyYAML in any case), the Dockerfile's instructions, and the ``mc2cm`` commands they name."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


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
