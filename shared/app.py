"""The pieces every HTTP service of the platform shares: errors, health, metrics, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import Table

from shared.auth import TokenVerifier, optional_principal
from shared.body_limit import BodyLimitMiddleware
from shared.db import Database
from shared.errors import invalid
from shared.idempotency import IdempotencyMiddleware
from shared.observability import HttpMetrics, RequestContextMiddleware
from shared.openapi import install_openapi, operation_id
from shared.outbox_metrics import OutboxMetrics
from shared.problem_handlers import install_problem_handlers
from shared.rate_limit import RateLimiter, limit_uploads, limit_writes
from shared.readiness import Readiness, check_dependencies, readiness_response
from shared.root_path import RootPathMiddleware
from shared.schemas import contains_nul
from shared.settings import Settings


class Health(BaseModel):
    status: str


def _lifespan(
    settings: Settings,
    service: str,
    extra: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database.from_settings(settings, application_name=service)
        app.state.redis = (
            aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        )
        try:
            if extra is None:
                yield
            else:
                async with extra(app):
                    yield
        finally:
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await app.state.database.dispose()

    return lifespan


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is up", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="PostgreSQL and Redis are reachable",
        response_model=Readiness,
        responses={503: {"description": "A dependency is down; `checks` says which"}},
    )
    async def readyz(request: Request) -> Response:
        checks = await check_dependencies(request.app.state.database, request.app.state.redis)
        return readiness_response(checks, instance=request.url.path)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        outbox_metrics: OutboxMetrics | None = request.app.state.outbox_metrics
        if outbox_metrics is not None:
            await outbox_metrics.refresh(request.app.state.database)
        registry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


async def _no_nul_in_url(request: Request) -> None:
    """A NUL character in a query or path parameter is refused, naming the parameter."""
    for location, items in (
        ("query", request.query_params.multi_items()),
        ("path", request.path_params.items()),
    ):
        for name, value in items:
            if contains_nul(name) or contains_nul(value):
                raise invalid(name, "must not contain the NUL character", location=location)


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
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's conventions; the service adds its routers.

    Request bodies are capped at ``max_json_body_bytes``, those of ``upload_routers``' operations
    (file uploads, streamed) at ``max_import_body_bytes`` and those of ``batch_operations``
    (operation ids of JSON batches) at ``max_batch_body_bytes`` (``shared.body_limit``).
    With ``outbox``, ``/metrics`` shows the backlog of the service's outbox
    (``shared.outbox_metrics``).
    Uploads count against the upload rate limit rather than the writes' one
    (``shared.rate_limit``).
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
    app.state.token_verifier = TokenVerifier(settings)
    app.state.metrics = HttpMetrics(service)
    app.state.outbox_metrics = (
        OutboxMetrics(app.state.metrics.registry, {outbox.schema or "public": outbox})
        if outbox is not None
        else None
    )
    install_problem_handlers(app)
    app.include_router(_ops_router())
    # A token that is sent is checked on every operation, even one anonymous callers may
    # use: an expired or forged token is a 401, never silently "anonymous".
    # Writes are rate-limited per caller (reads never are); uploads by their own limit.
    checks = [Depends(_no_nul_in_url), Depends(optional_principal)]
    app.state.rate_limiter = RateLimiter(
        key_prefix=settings.rate_limit_key_prefix,
        timeout_seconds=settings.rate_limit_timeout_seconds,
        pause_seconds=settings.rate_limit_pause_seconds,
        registry=app.state.metrics.registry,
        service=service,
    )
    for router in routers:
        limit = limit_uploads if router in upload_routers else limit_writes
        app.include_router(router, dependencies=[*checks, Depends(limit)])
    install_openapi(app, service=service)
    # Middleware, from the innermost: Idempotency-Key inside the body limit (a body refused
    # up front never reaches it), the body limit inside CORS (so that a browser can read the
    # 413), the root path (MC2CM_ROOT_PATH: the scope's, and Location headers), and the
    # request id around everything.
    app.add_middleware(
        IdempotencyMiddleware,
        table=idempotency_keys,
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        service=service,
    )
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
                "Content-Language",
                "X-Request-ID",
                "Location",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
        )
    if settings.root_path:
        app.add_middleware(RootPathMiddleware, root_path=settings.root_path)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
