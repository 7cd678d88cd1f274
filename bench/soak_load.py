"""The soak's load: which request comes next (90 % reads, 10 % writes), how requests are sent
(a closed loop to find the read capacity, an open loop at a fixed rate for the soak), and the
report of what came back (errors, p50/p99 per route family).

Nothing here starts a process or knows the data: ``bench/soak.py`` builds the stack, the
targets and the write operations, and hands them to ``closed_loop`` and ``open_loop``.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

#: One request in ten is a write; the other nine are reads.
WRITE_EVERY = 10
#: The write operations, taken in turn.
WRITE_FAMILIES: tuple[str, ...] = (
    "writes-observations",
    "writes-registrations",
    "writes-sections",
)
#: A request the open loop could not start because this many were still waiting: the
#: generator is behind, and the request counts as an error rather than piling up.
MAX_IN_FLIGHT = 2000


@dataclass(frozen=True)
class Slot:
    """What the n-th request of the load is: a read of ``family`` (its target drawn from the
    family's list by the read function), or a write of ``family``."""

    write: bool
    family: str


def schedule(read_weights: dict[str, int], seed: int) -> Iterator[Slot]:
    """The endless sequence of slots: every ``WRITE_EVERY``-th a write (the write families in
    turn), the others reads of a family drawn with ``read_weights`` from a seeded generator.

    Exactly 10 % writes over any run of ten slots, so a run of any length keeps the mix."""
    draw = random.Random(seed)
    families, weights = list(read_weights), list(read_weights.values())
    writes = 0
    n = 0
    while True:
        if n % WRITE_EVERY == WRITE_EVERY - 1:
            yield Slot(write=True, family=WRITE_FAMILIES[writes % len(WRITE_FAMILIES)])
            writes += 1
        else:
            yield Slot(write=False, family=draw.choices(families, weights)[0])
        n += 1


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q ≤ 1) of already sorted values: the smallest
    value with at least ``q`` of them at or below it."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Outcome:
    """What one request came to: its family, status (0: transport error) and seconds."""

    family: str
    status: int
    seconds: float
    what: str = ""  # "GET /v1/…", kept for the list of the first errors


def is_error(status: int) -> bool:
    """Any answer but 2xx/3xx, and any transport error (status 0), is an error."""
    return not 200 <= status < 400


@dataclass
class Report:
    """The outcomes of a run, summed up."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0  # how long the run sent requests
    shed: int = 0  # requests never sent: too many still waiting
    #: Per request of the open loop: (seconds since the start it was due, seconds it
    #: started late). A late start is the generator's own delay, not the server's.
    starts: list[tuple[float, float]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def requests(self) -> int:
        return len(self.outcomes) + self.shed

    @property
    def errors(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if is_error(outcome.status)]

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.shed

    @property
    def rate(self) -> float:
        """Requests answered per second, errors included."""
        return len(self.outcomes) / self.seconds if self.seconds else 0.0

    def lateness_ms(self) -> tuple[float, float]:
        """p50 and p99 of how late the generator started requests, in milliseconds."""
        ordered = sorted(late for _, late in self.starts)
        return 1000 * percentile(ordered, 0.50), 1000 * percentile(ordered, 0.99)

    def families(self) -> dict[str, tuple[int, float, float]]:
        """Per family, sorted by name: (requests, p50 ms, p99 ms)."""
        latencies: dict[str, list[float]] = {}
        for outcome in self.outcomes:
            latencies.setdefault(outcome.family, []).append(outcome.seconds)
        table = {}
        for family in sorted(latencies):
            ordered = sorted(latencies[family])
            table[family] = (
                len(ordered),
                1000 * percentile(ordered, 0.50),
                1000 * percentile(ordered, 0.99),
            )
        return table


#: Sends the request of a slot; returns the outcomes of the requests it made (a write may
#: make two: the read of an ETag, or the person it registers, then the write itself).
Send = Callable[[Slot, float], Awaitable[list[Outcome]]]


async def closed_loop(
    send: Send, slots: Iterator[Slot], clients: int, warmup: float, seconds: float
) -> Report:
    """``clients`` loops, each sending a request as soon as its last was answered, for
    ``warmup + seconds``; the report of the measured part (its capacity: ``rate``)."""
    report = Report(seconds=seconds)
    measure_from = time.perf_counter() + warmup
    until = measure_from + seconds

    async def client() -> None:
        while (started := time.perf_counter()) < until:
            outcomes = await send(next(slots), started)
            if started >= measure_from:
                for outcome in outcomes:
                    report.add(outcome)

    await asyncio.gather(*(client() for _ in range(clients)))
    return report


async def open_loop(
    send: Send,
    slots: Iterator[Slot],
    rate: float,
    seconds: float,
    on_tick: Callable[[float], None] | None = None,
) -> Report:
    """Requests started at ``rate`` per second for ``seconds``, whatever the answers take (an
    open loop: a slow server meets the same arrivals). A request's latency counts from when it
    was due, so time spent waiting for a connection is not hidden. ``on_tick`` is called with
    the elapsed seconds about once a second (to sample memory)."""
    report = Report(seconds=seconds)
    pending: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    last_tick = 0.0

    async def one(slot: Slot, due: float) -> None:
        report.starts.append((due - started, time.perf_counter() - due))
        for outcome in await send(slot, due):
            report.add(outcome)

    n = 0
    while True:
        due = started + n / rate
        if due >= started + seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        slot = next(slots)
        if len(pending) >= MAX_IN_FLIGHT:
            report.shed += 1
        else:
            task = asyncio.create_task(one(slot, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        n += 1
        if on_tick is not None and due - started - last_tick >= 1.0:
            last_tick = due - started
            on_tick(last_tick)
    if pending:
        await asyncio.gather(*pending)
    return report
