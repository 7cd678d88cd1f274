"""The soak's scheduler keeps the 90/10 mix, its report computes p50/p99 by nearest rank, and
its open loop starts requests at the rate asked whatever the answers take (no stack: the
requests are a coroutine that sleeps)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from bench.soak_http import Pool, Response
from bench.soak_load import (
    WRITE_FAMILIES,
    Outcome,
    Report,
    Slot,
    closed_loop,
    open_loop,
    percentile,
    schedule,
)
from bench.soak_requests import READ_WEIGHTS


def test_one_slot_in_ten_is_a_write_over_any_run_and_writes_take_turns() -> None:
    slots = list(itertools.islice(schedule(READ_WEIGHTS, seed=7), 10_000))
    writes = [slot for slot in slots if slot.write]
    assert len(writes) == 1_000, f"{len(writes)} writes in 10,000 slots"
    for start in range(0, 10_000, 10):
        window = slots[start : start + 10]
        assert sum(slot.write for slot in window) == 1, f"slots {start}..{start + 9}: {window}"
    counts = Counter(slot.family for slot in writes)
    assert set(counts) == set(WRITE_FAMILIES)
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_reads_follow_their_weights_and_name_only_read_families() -> None:
    reads = list(itertools.islice(schedule(READ_WEIGHTS, seed=7), 50_000))
    counts = Counter(slot.family for slot in reads if not slot.write)
    total = sum(counts.values())
    assert set(counts) == set(READ_WEIGHTS)
    for family, weight in READ_WEIGHTS.items():
        share = 100 * counts[family] / total
        assert abs(share - weight) < 1.0, f"{family}: {share:.2f} % of reads, weight {weight}"


def test_the_same_seed_gives_the_same_schedule() -> None:
    first = list(itertools.islice(schedule(READ_WEIGHTS, seed=3), 200))
    again = list(itertools.islice(schedule(READ_WEIGHTS, seed=3), 200))
    assert first == again


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([4.0], 0.99) == 4.0
    # Ten values: the 99th percentile is the largest, the median the fifth.
    ten = [float(n) for n in range(10)]
    assert percentile(ten, 0.99) == 9.0
    assert percentile(ten, 0.50) == 4.0


def test_the_report_gives_p50_and_p99_per_family_in_milliseconds_and_counts_errors() -> None:
    report = Report(seconds=10)
    for n in range(1, 101):
        report.add(Outcome("observations", 200, n / 1000))
    report.add(Outcome("pages", 304, 0.002))
    report.add(Outcome("pages", 503, 0.004, "GET /: 503"))
    report.add(Outcome("pages", 0, 0.006, "GET /: ConnectError"))
    families = report.families()
    assert families["observations"] == (100, 50.0, 99.0), families["observations"]
    assert families["pages"] == (3, 4.0, 6.0), families["pages"]
    assert [outcome.what for outcome in report.errors] == ["GET /: 503", "GET /: ConnectError"]
    assert report.error_count == 2
    assert report.rate == pytest.approx(10.3)


def test_the_open_loop_starts_requests_at_its_rate_even_when_answers_are_slow() -> None:
    started: list[float] = []

    async def send(slot: Slot, due: float) -> list[Outcome]:
        started.append(due)
        await asyncio.sleep(0.2)  # slower than the interval between requests
        return [Outcome(slot.family, 200, 0.2)]

    report = asyncio.run(open_loop(send, schedule(READ_WEIGHTS, seed=1), rate=100, seconds=1))
    assert len(report.outcomes) == 100, f"{len(report.outcomes)} requests in 1 s at 100/s"
    gaps = {round(b - a, 4) for a, b in itertools.pairwise(started)}
    assert gaps == {0.01}, f"requests due every {sorted(gaps)} s, not 0.01 s"
    writes = [outcome for outcome in report.outcomes if outcome.family in WRITE_FAMILIES]
    assert len(writes) == 10, f"{len(writes)} writes among 100 requests"


def test_the_closed_loop_keeps_each_client_to_one_request_at_a_time() -> None:
    in_flight = 0
    most = 0

    async def send(slot: Slot, due: float) -> list[Outcome]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return [Outcome(slot.family, 200, 0.01)]

    reads = (slot for slot in schedule(READ_WEIGHTS, seed=1) if not slot.write)
    report = asyncio.run(closed_loop(send, reads, clients=4, warmup=0.05, seconds=0.3))
    assert most == 4, f"{most} requests at once with 4 clients"
    assert all(not outcome.family.startswith("writes-") for outcome in report.outcomes)
    # Four clients, at least 10 ms a request: never more than 400 a second.
    assert 0 < report.rate <= 400, f"{report.rate:.0f} requests/s"


def test_the_load_client_reads_sized_and_chunked_answers_on_one_kept_connection() -> None:
    answers = [
        b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: "3"\r\n\r\nhello',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\ncity\r\n6;ext=1\r\n,value\r\n0\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\nETag: "3"\r\n\r\n',
        b"HTTP/1.1 422 Unprocessable Content\r\nContent-Length: 2\r\n\r\n{}",
    ]
    connections = 0
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        for answer in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            sized = [line for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")]
            length = int(sized[0][15:]) if sized else 0
            received.append(head + await reader.readexactly(length))
            writer.write(answer)
        writer.close()

    async def run() -> list[Response]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Pool(f"http://127.0.0.1:{port}", size=1)
        try:
            return [
                await pool.request("GET", "/v1/cities"),
                await pool.request("GET", "/v1/observations?format=csv"),
                await pool.request("GET", "/v1/cities", headers={"If-None-Match": '"3"'}),
                await pool.request("POST", "/v1/observations", json={"observations": []}),
            ]
        finally:
            await pool.close()
            server.close()

    responses = asyncio.run(run())
    assert [(r.status, r.body) for r in responses] == [
        (200, b"hello"),
        (200, b"city,value"),
        (304, b""),
        (422, b"{}"),
    ]
    assert responses[0].headers["etag"] == '"3"'
    assert connections == 1, f"{connections} connections for four requests"
    assert received[3].endswith(b'\r\n\r\n{"observations": []}'), received[3]
    assert b"Content-Length: 20\r\n" in received[3], received[3]
