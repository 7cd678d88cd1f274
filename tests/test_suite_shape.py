"""The suite's own shape: short tests, and the shared helpers defined once.

A test longer than ``MAX_TEST_LINES`` is split (a table of cases and a parametrised test, or
helpers); a helper several modules need lives in ``tests/factories.py`` (``tests/waiting.py``
for waiting on conditions), and each module imports it instead of writing its own copy. A
module's own database with the demo data is the ``seeded_database`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).parent
MAX_TEST_LINES = 80

#: Helpers with one home; a module defining its own is a copy that drifts from the others.
SHARED_HELPERS = {
    "assert_problem": "factories.py",
    "error_fields": "factories.py",
    "error_field_list": "factories.py",
    "new_city": "factories.py",
    "new_source": "factories.py",
    "new_challenge": "factories.py",
    "new_indicator": "factories.py",
    "closed_port": "factories.py",
    "_closed_port": "factories.py",
    "outbox_position": "factories.py",
    "outbox_since": "factories.py",
    "request_id_of": "factories.py",
    "audit_entries": "factories.py",
    "only_entry": "factories.py",
    "if_match": "factories.py",
    "matching": "factories.py",
    "unique_title": "factories.py",
    "eventually": "waiting.py",
    "eventually_sync": "waiting.py",
    "wait_until_blocked_by": "waiting.py",
    "wait_until": "waiting.py",
}


def _parse(path: Path) -> ast.Module:
    # CPython 3.11.7 keeps the AST validator's recursion count in process-wide state: a
    # compile() in another thread at the same moment (templates, the servers some tests run)
    # makes it raise "AST constructor recursion depth mismatch". It is transient: parse again.
    for _ in range(9):
        try:
            return ast.parse(path.read_text(), str(path))
        except SystemError:
            continue
    return ast.parse(path.read_text(), str(path))


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path.relative_to(TESTS).as_posix(), _parse(path)


def test_no_test_function_is_longer_than_80_lines() -> None:
    long = [
        f"{name}::{node.name} ({(node.end_lineno or node.lineno) - node.lineno + 1} lines)"
        for name, module in modules()
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_TEST_LINES
    ]
    assert not long, f"tests over {MAX_TEST_LINES} lines, to split: {long}"


def test_shared_helpers_are_defined_only_in_their_module() -> None:
    copies = [
        f"{name}: {node.name} (belongs in tests/{SHARED_HELPERS[node.name]})"
        for name, module in modules()
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name in SHARED_HELPERS
        and name != SHARED_HELPERS[node.name]
    ]
    assert not copies, f"copies of shared helpers: {copies}"
