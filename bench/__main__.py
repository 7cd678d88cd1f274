"""``make bench``: every figure of the platform beside its raw baseline, in one table.

    .venv/bin/python -m bench [--quick] [--only P1,P3] [--huge] [--markdown FILE]

Runs, in order and inside one ``bench_env()``, the modules ``bench.p1_read``,
``bench.p2_ingest``, ``bench.p3_aggregates``, ``bench.p4_scale``, ``bench.p5_fanout``,
``bench.p6_reports``, ``bench.p7_exports``, ``bench.p8_tracing`` and ``bench.soak`` (each
``measure(env, quick) -> list[Figure]``); a module not written yet reads "not measured
yet", one that fails reads its error, and the others still run.
``--huge`` (one-off, never in ``make bench``'s default run) gives P4 its huge size:
20,000,000 observations, with the load, the disk and the full aggregate recompute
(``bench.p4_scale``).
Prints the machine, the servers and the table; ``--markdown`` also writes it as Markdown
for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.env import BenchEnv, bench_env
from bench.figures import Figure
from shared.settings import to_libpq_url

#: Figure key → (module, what it measures), in the order they run.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "P1": ("bench.p1_read", "read: GET /v1/observations (100 rows)"),
    "P2": ("bench.p2_ingest", "ingest: 1,000,000-row CSV through POST /v1/imports"),
    "P3": ("bench.p3_aggregates", "aggregates: recompute after the import"),
    "P4": ("bench.p4_scale", "scale: series latency at 10k and 10M observations"),
    "P5": ("bench.p5_fanout", "fan-out: notifications to an SMTP sink"),
    "P6": ("bench.p6_reports", "reports: an edition's report as HTML and PDF"),
    "P7": ("bench.p7_exports", "exports: 1,000,000 rows as XLSX and SDMX-CSV against CSV"),
    "P8": ("bench.p8_tracing", "tracing: P1's read with MC2CM_OTLP_ENDPOINT set against unset"),
    "P9": ("bench.soak", "soak: both APIs and the worker under mixed load (1 min; --quick 20 s)"),
}
COLUMNS = ("figure", "what", "ours", "raw", "unit", "ratio", "target", "met", "notes")


@dataclass
class Row:
    """One line of the table: a figure, or a benchmark that gave none."""

    key: str
    what: str
    figure: Figure | None = None
    problem: str = ""  # "not measured yet", or the error
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)

    def cells(self) -> list[str]:
        figure = self.figure
        if figure is None:
            return [self.key, self.what, "", "", "", "", "", "", self.problem]
        ratio, target = figure.ratio, figure.target
        sign = "≥" if figure.better == "higher" else "≤"
        met = {True: "✓", False: "✗", None: ""}[figure.met]
        notes = [f"raw: {figure.baseline}"] if figure.baseline else []
        return [
            figure.key,
            figure.name,
            number(figure.ours),
            number(figure.raw) if figure.raw is not None else "",
            figure.unit,
            f"{ratio:.2f}" if ratio is not None else "",
            f"{sign} {target:g}" if target is not None else "",
            met,
            "; ".join([*notes, *figure.notes, f"{self.seconds:.0f} s"]),
        ]


def number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def run_one(key: str, env: BenchEnv, quick: bool, *, huge: bool = False) -> list[Row]:
    """The rows of one benchmark: its figures, "not measured yet", or its error."""
    module_name, what = BENCHMARKS[key]
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return [Row(key, what, problem="not measured yet")]
    try:
        sized = {"huge": True} if huge and key == "P4" else {}
        figures: list[Figure] = module.measure(env, quick, **sized)
    except Exception as error:  # one benchmark's failure must not lose the others' figures
        traceback.print_exc()
        return [Row(key, what, problem=f"failed: {type(error).__name__}: {error}"[:200])]
    seconds = time.perf_counter() - started
    if not figures:
        return [Row(key, what, problem="no figure", seconds=seconds)]
    return [Row(figure.key, what, figure=figure, seconds=seconds) for figure in figures]


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return [
        ("CPU", f"{os.cpu_count()} x {model or platform.processor() or 'unknown'}"),
        ("memory", memory or "unknown"),
        ("load average", ", ".join(f"{load:.2f}" for load in os.getloadavg())),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]


async def postgres_version(env: BenchEnv) -> str:
    connection = await asyncpg.connect(to_libpq_url(env.server_url))
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def markdown(header: list[tuple[str, str]], rows: list[Row]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [f"- {name}: {value}" for name, value in header]
    lines += ["", line(list(COLUMNS)), line(["---"] * len(COLUMNS))]
    lines += [line(row.cells()) for row in rows]
    return "\n".join(lines) + "\n"


def text_table(rows: list[Row]) -> str:
    """The table for a terminal: notes on lines of their own under their figure."""
    cells = [row.cells() for row in rows]
    shown = list(COLUMNS[:-1])
    widths = [max(len(shown[i]), *(len(line[i]) for line in cells)) for i in range(len(shown))]
    right = {2, 3, 5}

    def line(values: list[str]) -> str:
        return "  ".join(
            value.rjust(width) if i in right else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=False))
        ).rstrip()

    out = [line(shown), line(["-" * width for width in widths])]
    for values in cells:
        out.append(line(values[:-1]))
        out += [f"      {note}" for note in values[-1].split("; ") if note]
    return "\n".join(out)


def parse_only(value: str) -> list[str]:
    keys = [key.strip().upper() for key in value.split(",") if key.strip()]
    unknown = [key for key in keys if key not in BENCHMARKS]
    if unknown or not keys:
        raise argparse.ArgumentTypeError(
            f"unknown figure {', '.join(unknown) or value!r}: choose among {', '.join(BENCHMARKS)}"
        )
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Every figure beside its raw baseline."
    )
    parser.add_argument(
        "--quick", action="store_true", help="Smaller data and shorter runs (about 2 minutes)."
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=list(BENCHMARKS),
        metavar="P1,P3",
        help="Run these figures only.",
    )
    parser.add_argument(
        "--huge",
        action="store_true",
        help="P4 at 20,000,000 observations, with load, disk and full recompute (one-off).",
    )
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="Also write the table here.")
    args = parser.parse_args()
    started = time.perf_counter()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[Row] = []
    with bench_env() as env:
        header = [
            ("date", when),
            ("mode", ("quick" if args.quick else "full") + (", P4 huge" if args.huge else "")),
            *machine(),
            ("PostgreSQL", asyncio.run(postgres_version(env))),
        ]
        for name, value in header:
            print(f"{name:>13}: {value}", flush=True)
        for key in BENCHMARKS:
            if key in args.only:
                print(f"… {key} {BENCHMARKS[key][1]}", file=sys.stderr, flush=True)
                rows += run_one(key, env, args.quick, huge=args.huge)
    header.append(("wall time", f"{time.perf_counter() - started:.0f} s"))
    print(f"{'wall time':>13}: {header[-1][1]}\n")
    print(text_table(rows))
    if args.markdown is not None:
        args.markdown.write_text(markdown(header, rows))
        print(f"\nMarkdown table written to {args.markdown}")
    failed = [row for row in rows if row.problem.startswith("failed")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
