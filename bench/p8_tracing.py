"""P8 tracing: what ``MC2CM_OTLP_ENDPOINT`` costs, unset and set, on P1's read.

The profiles API is served twice as in production (``mc2cm serve profiles``, one process
each) on P1's data (``bench.p1_read.prepare``): one with ``MC2CM_OTLP_ENDPOINT`` unset, one
exporting its spans over OTLP/HTTP to a receiver this process runs (it decodes each export and
counts its spans, so the figure shows that tracing was on). P1's load generator drives both in
alternating slices with the same concurrency, and reads each server's CPU time per answer.

Unset, ``shared.tracing`` installs nothing: no ASGI middleware, no engine listener, no wrapped
Redis or httpx method, so a read runs exactly the code it ran before tracing existed (the
tracing test checks that nothing is instrumented). The figure is the throughput kept with
tracing on (set ÷ unset); the note gives the unset server's rate beside the set one's and the
CPU per request of each.

    .venv/bin/python -m bench.p8_tracing [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import timeit
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from bench.env import BenchEnv, bench_env
from bench.figures import Figure, print_figures
from bench.p1_read import FULL, POOL_SIZE, QUICK, SECRET, Mode, paths, prepare, run_load, server
from shared.tracing import current_traceparent, span


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver that counts what it is sent."""

    spans = 0
    exports = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(
            len(scope.spans)
            for resource in request.resource_spans
            for scope in resource.scope_spans
        )
        with _Receiver.lock:
            _Receiver.spans += count
            _Receiver.exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    """The receiver on a free port of this host, its endpoint URL (no ``/v1/traces``)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def unset_costs() -> tuple[float, float]:
    """Nanoseconds that what runs when tracing is unset costs (this process never traces):
    reading the span in effect for an outbox write's envelope, and a job's, handler's or
    relayed event's span that does nothing."""
    calls = 100_000

    def no_span() -> None:
        with span("unset"):
            pass

    return (
        1e9 * timeit.timeit(current_traceparent, number=calls) / calls,
        1e9 * timeit.timeit(no_span, number=calls) / calls,
    )


def measure(env: BenchEnv, quick: bool) -> list[Figure]:
    mode = QUICK if quick else FULL
    return asyncio.run(_measure(env, mode))


async def _measure(env: BenchEnv, mode: Mode) -> list[Figure]:
    async with env.database("mc2cm_bench_p8") as database_url:
        observations = await prepare(database_url, env.redis_url, mode)
        return await asyncio.to_thread(_drive, env, database_url, mode, observations)


def _drive(env: BenchEnv, database_url: str, mode: Mode, observations: int) -> list[Figure]:
    targets = paths(mode)
    targets_file = env.workdir / "p8_targets.json"
    targets_file.write_text(json.dumps(targets))
    server_env = {
        "MC2CM_DATABASE_URL": database_url,
        "MC2CM_REDIS_URL": env.redis_url,
        "MC2CM_JWT_SECRET": SECRET,
        "MC2CM_DB_POOL_SIZE": str(POOL_SIZE),
        "MC2CM_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "services.cli", "serve", "profiles", "--workers", "1"]
    log = env.workdir / "p8_servers.log"
    with (
        receiver() as endpoint,
        server(command, server_env, log) as (unset_pid, unset_url),
        server(command, server_env | {"MC2CM_OTLP_ENDPOINT": endpoint}, log) as (set_pid, set_url),
    ):
        results = run_load([unset_url, set_url], mode, targets_file, [unset_pid, set_pid])
    # The set server exports what is left when it stops (its batch processor's shutdown).
    unset, traced = results[unset_url], results[set_url]
    errors = unset["errors"] + traced["errors"]
    envelope_ns, span_ns = unset_costs()
    spans_per_request = _Receiver.spans / traced["requests"] if traced["requests"] else 0.0
    return [
        Figure(
            key="P8",
            name="GET /v1/observations with MC2CM_OTLP_ENDPOINT set, against unset",
            ours=traced["rps"],
            raw=unset["rps"],
            unit="req/s",
            better="higher",
            baseline="the same API, MC2CM_OTLP_ENDPOINT unset (nothing instrumented)",
            notes=[
                f"unset {unset['rps']:,.0f} req/s, set {traced['rps']:,.0f} req/s; "
                f"p50/p99 unset {unset['p50_ms']:.1f}/{unset['p99_ms']:.1f} ms, "
                f"set {traced['p50_ms']:.1f}/{traced['p99_ms']:.1f} ms",
                f"server CPU per request unset {unset['cpu_ms']:.2f} ms, "
                f"set {traced['cpu_ms']:.2f} ms",
                f"the receiver took {_Receiver.spans:,} spans in {_Receiver.exports:,} exports "
                f"(about {spans_per_request:.1f} a measured request, warm-up included)",
                f"unset, a read runs no tracing code; an outbox write asks for the span in effect "
                f"({envelope_ns:.0f} ns), a job, handler or relayed event enters a span that "
                f"does nothing ({span_ns:.0f} ns)",
                f"{observations:,} observations, {mode.concurrency} connections, "
                f"{mode.seconds:g} s each in {mode.slices} alternating slices",
                *([f"{errors} non-200 answers"] if errors else []),
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="Smaller data, shorter runs.")
    args = parser.parse_args()
    with bench_env() as env:
        print_figures(measure(env, args.quick))


if __name__ == "__main__":
    main()
