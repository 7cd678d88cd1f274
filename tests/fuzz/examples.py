"""How many fuzz examples the run sent, by app and caller, printed at the end of the run.

Counted in the process that runs the fuzz tests; with several test processes
(pytest-xdist, ``make test``), each worker hands its counts to the controller when it ends,
which adds them up before the summary (``tests/conftest.py`` wires the hooks).
"""

from __future__ import annotations

from collections import Counter

import pytest

#: Examples sent, by "app as caller" (e.g. ``profiles as admin``).
EXAMPLES: Counter[str] = Counter()
#: The key of the counts in a pytest-xdist worker's output.
WORKER_OUTPUT_KEY = "fuzz_examples"


def count(app: str, caller: str) -> None:
    EXAMPLES[f"{app} as {caller}"] += 1


def hand_over(config: pytest.Config) -> None:
    """In an xdist worker, put this process's counts where the controller reads them."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output[WORKER_OUTPUT_KEY] = dict(EXAMPLES)


def take_over(worker_output: dict[str, object]) -> None:
    """In the controller, add a finished worker's counts."""
    counts = worker_output.get(WORKER_OUTPUT_KEY)
    if isinstance(counts, dict):
        EXAMPLES.update({str(key): int(value) for key, value in counts.items()})


def summarise(terminalreporter: pytest.TerminalReporter) -> None:
    if not EXAMPLES:
        return
    by_caller = ", ".join(f"{key}: {n}" for key, n in sorted(EXAMPLES.items()))
    terminalreporter.write_sep("-", "schemathesis")
    terminalreporter.write_line(f"fuzz examples executed: {sum(EXAMPLES.values())} ({by_caller})")
