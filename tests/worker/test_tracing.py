"""Traces (shared/tracing.py): one import followed through the outbox into the worker, its
relay, its event's job and handlers, the webhook call and the aggregate job, all spans of one
trace; and, without ``MC2CM_OTLP_ENDPOINT``, nothing traced at all.

The spans are kept by the SDK's in-memory exporter in place of the OTLP one; the APIs and the
worker run in-process on a real database and Redis, as in the other worker tests.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from services.dialogue_api.db import outbox as dialogue_outbox
from services.profiles_api.db import outbox as profiles_outbox
from shared.auth import Role
from shared.db import Database
from shared.tracing import start_tracing, stop_tracing, tracing_active
from tests.factories import csv_file
from tests.waiting import eventually
from tests.worker.conftest import Platform, open_platform, platform_settings
from tests.worker.receivers import WebhookReceiver

#: Never asked: the in-memory exporter takes the place of the OTLP one.
ENDPOINT = "http://127.0.0.1:9"


def one_figure(value: int) -> bytes:
    """A CSV of one figure of a seeded city for a period the demo data lacks."""
    return csv_file(
        f"PTLIS,population,2041,municipality,,{value},,,A,Population register (tracing test),"
        "National statistics office,https://stats.example.org/register,register,"
    )


@pytest.fixture
async def traced(
    seeded_database: str, server_urls: tuple[str, str]
) -> AsyncIterator[tuple[Platform, InMemorySpanExporter]]:
    """Both APIs traced into an in-memory exporter, whose worker is traced too."""
    settings = platform_settings(seeded_database, server_urls[1], otlp_endpoint=ENDPOINT)
    exporter = InMemorySpanExporter()
    start_tracing(settings, "tests", processor=SimpleSpanProcessor(exporter))
    try:
        async with open_platform(settings) as platform:
            yield platform, exporter
    finally:
        stop_tracing()


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, sorted(span.name for span in spans))
    return found[0]


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, span.name
    by_id = {found.context.span_id: found for found in spans}
    return by_id[span.parent.span_id]


def ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[str]:
    """The names of ``span``'s parent, its parent's, … up to the trace's root."""
    names = []
    while span.parent is not None:
        span = parent_of(span, spans)
        names.append(span.name)
    return names


async def subscribe(platform: Platform, receiver: WebhookReceiver, event_type: str) -> None:
    response = await platform.dialogue.post(
        "/v1/webhooks",
        role=Role.admin,
        json={"url": receiver.url, "event_types": [event_type], "description": "tracing"},
    )
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]


async def test_an_import_is_one_trace_from_the_request_to_its_webhook_and_aggregate_job(
    traced: tuple[Platform, InMemorySpanExporter],
) -> None:
    platform, exporter = traced
    async with WebhookReceiver() as receiver, platform.worker():
        await subscribe(platform, receiver, "observations.changed")
        response = await platform.profiles.request(
            "POST",
            "/v1/imports",
            role=Role.admin,
            content=one_figure(random.randrange(10**6)),
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        request = one(exporter.get_finished_spans(), "POST /v1/imports")
        trace_id = request.context.trace_id

        def trace() -> list[ReadableSpan]:
            return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]

        def done() -> bool:
            names = {span.name for span in trace()}
            return {"job recompute_aggregates", "POST"} <= names

        await eventually(done, timeout=20, message="the aggregate job and the webhook call")
    spans = trace()
    assert request.kind == SpanKind.SERVER and request.parent is None
    # The request's statements, the outbox row among them, are its children.
    statements = [s for s in spans if s.kind == SpanKind.CLIENT and s.parent == request.context]
    assert any("INSERT" in s.name and "outbox" in str(s.attributes) for s in statements), [
        (s.name, s.attributes) for s in statements
    ]
    relay = one(spans, "relay observations.changed")
    assert relay.kind == SpanKind.PRODUCER
    assert request.name in ancestors(relay, spans)
    job = one(spans, "job handle_event")
    assert (job.kind, parent_of(job, spans).name) == (SpanKind.CONSUMER, relay.name)
    handlers = [s for s in spans if s.name == "handle observations.changed"]
    assert handlers and all(parent_of(s, spans) is job for s in handlers)
    # The handlers' own statements and the jobs they enqueue continue the trace.
    aggregates = [s for s in spans if s.name == "job recompute_aggregates"]
    for aggregate in aggregates:
        assert job.name in ancestors(aggregate, spans), ancestors(aggregate, spans)
        assert any(parent_of(s, spans) is aggregate for s in spans if s.kind == SpanKind.CLIENT)
    webhook = one(spans, "POST")
    assert webhook.kind == SpanKind.CLIENT
    assert webhook.attributes is not None
    assert f":{receiver.port}/hooks/mc2cm" in str(list(webhook.attributes.values())), dict(
        webhook.attributes
    )
    assert relay.name in ancestors(webhook, spans)
    # The trace went through the outbox's envelope, not to partners (their header has it).
    assert receiver.received and all(r.verified for r in receiver.received)
    assert all("traceparent" not in r.payload for r in receiver.received)
    envelopes = await stored_envelopes(platform.settings, response.headers["x-request-id"])
    assert [envelope["traceparent"].split("-")[1] for envelope in envelopes] == [
        format(trace_id, "032x")
    ]


async def stored_envelopes(settings: Any, request_id: str) -> list[dict[str, Any]]:
    """The envelopes of the events request ``request_id`` wrote, in both outboxes."""
    database = Database.from_settings(settings, application_name="test-tracing")
    try:
        async with database.sessionmaker() as session:
            envelopes: list[dict[str, Any]] = []
            for table in (profiles_outbox, dialogue_outbox):
                envelopes += await session.scalars(
                    select(table.c.envelope).where(
                        table.c.envelope["request_id"].astext == request_id
                    )
                )
            return envelopes
    finally:
        await database.dispose()


async def test_without_an_endpoint_nothing_is_instrumented_and_no_trace_is_recorded(
    platform: Platform,
) -> None:
    assert platform.settings.otlp_endpoint is None
    assert not tracing_active()
    # Neither the ASGI, Redis nor httpx instrumentation is installed.
    assert not getattr(
        platform.profiles.client._transport.app, "_is_instrumented_by_opentelemetry", False
    )  # type: ignore[attr-defined]
    assert not hasattr(aioredis.Redis.execute_command, "__wrapped__")
    assert not hasattr(httpx.AsyncHTTPTransport.handle_async_request, "__wrapped__")
    async with platform.worker():
        response = await platform.profiles.request(
            "POST",
            "/v1/imports",
            role=Role.admin,
            content=one_figure(random.randrange(10**6)),
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
    envelopes = await stored_envelopes(platform.settings, response.headers["x-request-id"])
    assert [envelope["type"] for envelope in envelopes] == ["observations.changed"]
    assert "traceparent" not in envelopes[0]


async def test_the_observation_list_read_on_the_driver_is_a_statement_of_its_request(
    traced: tuple[Platform, InMemorySpanExporter],
) -> None:
    platform, exporter = traced
    response = await platform.profiles.get("/v1/observations?city=PTLIS&indicator=population")
    assert response.status_code == 200, response.text
    spans = exporter.get_finished_spans()
    request = one(spans, "GET /v1/observations")
    statements = [
        str((s.attributes or {}).get("db.statement"))
        for s in spans
        if s.kind == SpanKind.CLIENT and s.parent == request.context
    ]
    assert any("FROM profiles.observation" in sql for sql in statements), statements
