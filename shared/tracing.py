"""Traces of every process (OpenTelemetry), sent over OTLP/HTTP to ``MC2CM_OTLP_ENDPOINT``.

Unset (the default), nothing is traced: no instrumentation is installed, no span is made and
nothing is exported, so the platform runs exactly as without this module (``make bench``'s P8
measures it). Set, the first app or worker of the process starts its tracing
(``start_tracing``): a tracer provider whose spans are batched to the endpoint, and the
maintained instrumentations of Redis (every client, arq's included) and httpx (outbound calls:
webhooks, the profiles API) for the whole process. Each API app is then instrumented as an
ASGI app (one server span a request, ``instrument_app``) and each database engine, primary and
replicas, as SQLAlchemy's (one client span a statement, ``instrument_database``).

A trace follows a write into the worker: the outbox writer records the W3C ``traceparent`` of
the request in the event's envelope (``current_traceparent``); the relay continues it in a
producer span and passes its own to the event's job (the ``_traceparent`` keyword, as the
request id travels); the job's consumer span continues that, and so do the jobs it enqueues in
turn (``span``). Client spans without a parent are not recorded (``ROOT_CLIENT_SPANS_DROPPED``):
the worker's poll of Redis every 0.1 s and the relay's own queries would otherwise be a trace
each.

Tracing is the process's, as the instrumentations of Redis and httpx are: an app built without
the endpoint in a process where it is on is not instrumented, but its Redis and httpx calls are
traced when they have a parent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, Span, SpanKind, Tracer, get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.db import Database
    from shared.settings import Settings

#: The keyword a job is enqueued with to continue a trace (taken off by the worker, as
#: ``shared.jobs.REQUEST_ID_KEYWORD``); the envelope's key of the same.
TRACEPARENT_KEYWORD = "_traceparent"
TRACEPARENT = "traceparent"
#: Paths of the operations endpoints, asked every few seconds by probes and scrapers.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"
#: The instrumentation scope of the platform's own spans (relay, jobs, handlers).
SCOPE = "mc2cm"

_propagator = TraceContextTextMapPropagator()


class _DropRootClientSpans(Sampler):
    """Records every span but a client span that starts a trace (see the module's note)."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "DropRootClientSpans"


#: Children follow their parent's decision; roots are recorded unless they are client spans.
ROOT_CLIENT_SPANS_DROPPED = ParentBased(root=_DropRootClientSpans())


@dataclass
class _Tracing:
    provider: TracerProvider
    tracer: Tracer


_active: _Tracing | None = None


def start_tracing(
    settings: Settings, service: str, *, processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """The process's tracer provider when ``settings`` name an OTLP endpoint, else ``None``.

    The first call with an endpoint starts the process's tracing (named ``service``) and
    instruments Redis and httpx; later calls return the same provider. ``processor`` replaces
    the OTLP exporter (tests keep the spans in memory with the SDK's exporter).
    """
    global _active
    if settings.otlp_endpoint is None:
        return None
    if _active is None:
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service, SERVICE_NAMESPACE: "mc2cm"}),
            sampler=ROOT_CLIENT_SPANS_DROPPED,
        )
        provider.add_span_processor(processor or _otlp_processor(settings.otlp_endpoint))
        RedisInstrumentor().instrument(tracer_provider=provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        _active = _Tracing(provider, provider.get_tracer(SCOPE))
    return _active.provider


def _otlp_processor(endpoint: str) -> SpanProcessor:
    # Imported here: its protobuf modules are loaded only by a process that exports.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))


def stop_tracing() -> None:
    """Export what is left and remove every process-wide instrumentation."""
    global _active
    if _active is None:
        return
    RedisInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    _active.provider.shutdown()
    _active = None


def tracing_active() -> bool:
    return _active is not None


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """One server span for each request of ``app`` (not for the operations endpoints),
    continuing the caller's ``traceparent`` if it sent one."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        meter_provider=NoOpMeterProvider(),
        excluded_urls=UNTRACED_PATHS,
        # The ASGI messages each request sends and receives would be a span each.
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: AsyncEngine, provider: TracerProvider) -> None:
    """One client span for each statement run on ``engine`` (SQLAlchemy's instrumentation,
    attached to this engine alone: ``SQLAlchemyInstrumentor`` would patch the process's
    engine factories, which ``shared.db`` imported before)."""
    usage = (
        NoOpMeterProvider()
        .get_meter(SCOPE)
        .create_up_down_counter("db.client.connections.usage", unit="connections")
    )
    EngineTracer(  # type: ignore[no-untyped-call]
        provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, usage
    )


def instrument_database(database: Database, provider: TracerProvider | None) -> None:
    """``instrument_engine`` for the primary and each replica of ``database``; nothing
    without a provider."""
    if provider is None:
        return
    instrument_engine(database.engine, provider)
    if database.replicas is not None:
        for replica in database.replicas.replicas:
            instrument_engine(replica.engine, provider)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span in effect; ``None`` outside traces."""
    if _active is None or not get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def _parent(traceparent: str | None) -> Context | None:
    if traceparent is None:
        return None
    return _propagator.extract({TRACEPARENT: traceparent})


#: What ``span`` gives when the process does not trace: a context manager that does nothing.
_NO_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()


def span(
    name: str,
    *,
    traceparent: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> AbstractContextManager[Span | None]:
    """A span of the platform's own, current inside the block: a child of ``traceparent``
    when given (a trace carried through the outbox or a job), else of the span in effect.
    Nothing (``None``, at the cost of one check) when the process does not trace."""
    if _active is None:
        return _NO_SPAN
    return _active.tracer.start_as_current_span(
        name, context=_parent(traceparent), kind=kind, attributes=dict(attributes or {})
    )


def statement_span(sql: str) -> AbstractContextManager[Span | None]:
    """A client span for a statement run on the driver's connection directly, which
    SQLAlchemy's instrumentation does not see; named and described as its spans are."""
    return span(
        sql.lstrip().split(None, 1)[0].upper() if _active is not None else "",
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": sql},
    )
