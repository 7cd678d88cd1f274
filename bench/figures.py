"""One figure of ``make bench``: ours beside a raw baseline measured in the same run.

Each benchmark module (``bench.p1_read``, ``bench.p2_ingest``…) exposes
``measure(env: BenchEnv, quick: bool) -> list[Figure]``; ``python -m bench`` runs them all
and prints one table (``bench/__main__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Figure:
    """A measured figure and its baseline.

    ``ratio`` is ours ÷ raw for rates (higher is better, ``better="higher"``) and for times
    (lower is better, ``better="lower"``); ``target`` is the issue's goal for the ratio.
    """

    key: str  # "P1", "P2", …
    name: str  # what was measured, e.g. "GET /v1/observations (100 rows)"
    ours: float
    raw: float | None
    unit: str  # "req/s", "rows/s", "s", "ms"
    target: float | None = None
    better: Literal["higher", "lower"] = "higher"
    baseline: str = ""  # what the raw figure is, e.g. "bare Starlette + asyncpg"
    notes: list[str] = field(default_factory=list)  # e.g. "peak RSS 112 MB"

    @property
    def ratio(self) -> float | None:
        if self.raw in (None, 0):
            return None
        return self.ours / self.raw  # type: ignore[operator]

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or self.target is None:
            return None
        return ratio >= self.target if self.better == "higher" else ratio <= self.target


def print_figures(figures: list[Figure]) -> None:
    """Each figure and its notes, as a benchmark run on its own prints them."""
    for figure in figures:
        ratio = "-" if figure.ratio is None else f"{figure.ratio:.2f}"
        met = {True: "met", False: "not met", None: "no target"}[figure.met]
        print(
            f"{figure.key} {figure.name}: ours {figure.ours:,.2f} {figure.unit}, "
            f"raw {figure.raw or 0:,.2f} {figure.unit} ({figure.baseline}), ratio {ratio} "
            f"(target {'≥' if figure.better == 'higher' else '≤'} {figure.target}, {met})"
        )
        for note in figure.notes:
            print(f"    {note}")
