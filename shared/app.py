"""The app factory every HTTP service of the platform is built by: errors, middleware, checks,
the index and operations routes (``shared.ops_routes``), OpenAPI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import Table

from shared.auth import TokenVerifier, optional_principal
from shared.body_limit import BodyLimitMiddleware
from shared.caching import ConditionalGetMiddleware
from shared.db import Database
from shared.idempotency import IdempotencyMiddleware
from shared.observability import DatabasePoolCollector, HttpMetrics, RequestContextMiddleware
from shared.openapi import install_openapi, operation_id
from shared.ops_routes import ops_router
from shared.outbox_metrics import OutboxMetrics
from shared.problem_handlers import install_problem_handlers
from shared.rate_limit import RateLimiter, limit_uploads, limit_writes
from shared.replicas import CONSISTENCY_HEADER, ReplicaMetrics, ReplicaMiddleware
from shared.request_checks import authenticated_first, no_nul_in_url, one_value_per_parameter
from shared.root_path import RootPathMiddleware
from shared.routing import MethodNotAllowedMiddleware, check_route_order
from shared.settings import Settings
from shared.tracing import instrument_app, instrument_database, start_tracing


def _lifespan(
    settings: Settings,
    service: str,
    extra: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(
            settings, application_name=service, replica_metrics=app.state.replica_metrics
        )
        app.state.database = database
        instrument_database(database, app.state.tracer_provider)
        app.state.redis = (
            aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                if database.replicas is not None:
                    await stack.enter_async_context(database.replicas.monitoring(database.engine))
                if extra is not None:
                    await stack.enter_async_context(extra(app))
                yield
        finally:
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await app.state.database.dispose()

    return lifespan


def create_service_app(
    settings: Settings,
    *,
    service: str,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    upload_routers: Sequence[APIRouter] = (),
    batch_operations: Collection[str] = (),
    openapi_tags: list[dict[str, Any]],
    idempotency_keys: Table,
    outbox: Table | None = None,
    webhook_event_types: Collection[str] = (),
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's conventions; the service adds its routers.

    Request bodies are capped at ``max_json_body_bytes``, those of ``upload_routers``' operations
    (file uploads, streamed) at ``max_import_body_bytes`` and those of ``batch_operations``
    (operation ids of JSON batches) at ``max_batch_body_bytes`` (``shared.body_limit``).
    With ``outbox``, ``/metrics`` shows the backlog of the service's outbox
    (``shared.outbox_metrics``).
    Uploads count against the upload rate limit rather than the writes' one
    (``shared.rate_limit``). ``webhook_event_types`` are the events the service sends as
    webhooks, documented in its OpenAPI document's ``webhooks`` (``shared.openapi``).
    """
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        openapi_tags=openapi_tags,
        generate_unique_id_function=operation_id,
        lifespan=_lifespan(settings, service, lifespan),
    )
    app.state.settings = settings
    app.state.service = service
    app.state.token_verifier = TokenVerifier(settings)
    app.state.metrics = HttpMetrics(service)
    app.state.replica_metrics = ReplicaMetrics(app.state.metrics.registry)
    DatabasePoolCollector(app.state.metrics.registry, lambda: getattr(app.state, "database", None))
    app.state.outbox_metrics = (
        OutboxMetrics(app.state.metrics.registry, {outbox.schema or "public": outbox})
        if outbox is not None
        else None
    )
    install_problem_handlers(app)
    app.include_router(ops_router())
    # A token that is sent is checked on every operation, even one anonymous callers may
    # use: an expired or forged token is a 401, never silently "anonymous".
    # Writes are rate-limited per caller (reads never are); uploads by their own limit.
    checks = [
        Depends(no_nul_in_url),
        Depends(one_value_per_parameter),
        Depends(optional_principal),
    ]
    app.state.rate_limiter = RateLimiter(
        key_prefix=settings.rate_limit_key_prefix,
        timeout_seconds=settings.rate_limit_timeout_seconds,
        pause_seconds=settings.rate_limit_pause_seconds,
        registry=app.state.metrics.registry,
        service=service,
    )
    for router in routers:
        limit = limit_uploads if router in upload_routers else limit_writes
        # An anonymous write is counted before it is refused (401), so a flood of them is
        # cut off too.
        app.include_router(
            router, dependencies=[*checks, Depends(limit), Depends(authenticated_first)]
        )
    check_route_order(app)
    install_openapi(app, service=service, webhook_event_types=webhook_event_types)
    # Middleware, from the innermost: a method the path's resource lacks answered 405 before
    # the router sees it (shared.routing), ETags, caching headers and 304 on reads
    # (shared.caching), Idempotency-Key inside the consistency tokens (a replayed write's
    # answer gets one too) and the read that failed on a replica run again on the primary
    # (shared.replicas), both inside the body limit (a body
    # refused up front never reaches them), the body limit inside CORS (so that a browser can
    # read the 413), the root path (MC2CM_ROOT_PATH: the scope's, and Location headers), and
    # the request id around everything.
    app.add_middleware(MethodNotAllowedMiddleware, fastapi_app=app)
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(
        IdempotencyMiddleware,
        table=idempotency_keys,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        service=service,
    )
    app.add_middleware(ReplicaMiddleware, database=lambda: getattr(app.state, "database", None))
    route_limits = [
        (route, settings.max_import_body_bytes)
        for router in upload_routers
        for route in router.routes
    ] + [
        (route, settings.max_batch_body_bytes)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.name in batch_operations
    ]
    app.add_middleware(
        BodyLimitMiddleware, default_limit=settings.max_json_body_bytes, route_limits=route_limits
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Link",
                "Content-Language",
                "X-Request-ID",
                "Location",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Idempotent-Replayed",
                CONSISTENCY_HEADER,
            ],
        )
    if settings.root_path:
        app.add_middleware(RootPathMiddleware, root_path=settings.root_path)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    # Traced only with MC2CM_OTLP_ENDPOINT (shared.tracing): a span around everything above.
    app.state.tracer_provider = start_tracing(settings, service)
    if app.state.tracer_provider is not None:
        instrument_app(app, app.state.tracer_provider)
    return app
