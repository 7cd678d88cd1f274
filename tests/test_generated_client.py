"""Partners generate clients from the committed OpenAPI documents: one is generated from each
(openapi-python-client, as a partner would run it) and every module of it imports."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCUMENTS = Path(__file__).parents[1] / "docs" / "openapi"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("service", ["profiles", "dialogue"])
def test_a_python_client_generates_from_the_openapi_document_and_imports(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = f"mc2cm_{service}_client"
    generated = subprocess.run(
        [
            BIN / "openapi-python-client",
            "generate",
            "--path",
            DOCUMENTS / f"{service}.json",
            "--meta",
            "none",
            "--output-path",
            tmp_path / package,
        ],
        capture_output=True,
        text=True,
        # Its formatting step runs ruff, from this environment.
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    root = importlib.import_module(package)
    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(root.__path__, f"{package}.")
    ]
    # An operation is a module of the client's `api` package: most of them were generated.
    operations = [module for module in modules if ".api." in module.__name__]
    assert len(operations) >= 40, [module.__name__ for module in operations]
