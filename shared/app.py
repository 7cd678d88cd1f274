"""The pieces every HTTP service of the platform shares: errors, health, metrics, OpenAPI."""

from __future__ import annotations

import types
import typing
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Table

from shared.auth import Principal, TokenVerifier, optional_principal, require_principal
from shared.body_limit import BodyLimitMiddleware
from shared.db import Database
from shared.errors import invalid
from shared.idempotency import IdempotencyMiddleware
from shared.observability import HttpMetrics, RequestContextMiddleware
from shared.openapi import dependency_calls, install_openapi, operation_id
from shared.outbox_metrics import OutboxMetrics
from shared.problem_handlers import install_problem_handlers
from shared.rate_limit import RateLimiter, limit_uploads, limit_writes
from shared.readiness import Readiness, check_dependencies, readiness_response
from shared.root_path import RootPathMiddleware
from shared.routing import MethodNotAllowedMiddleware, check_route_order, route_contexts
from shared.schemas import contains_nul
from shared.settings import Settings


class Health(BaseModel):
    status: str


#: The path of the index of each API's resources.
INDEX_PATH = "/v1"


class IndexEntry(BaseModel):
    """A resource at the top of the API, and what reading it gives."""

    name: str = Field(examples=["cities"])
    href: str = Field(examples=["/v1/cities"], description="Under the API's root path.")
    summary: str = Field(examples=["List the network's cities"])


class ApiIndex(BaseModel):
    """Where to start: the API's top-level resources, its documentation and its OpenAPI
    document, as paths of this host (under the API's root path)."""

    title: str = Field(examples=["MC2CM profiles API"])
    version: str = Field(examples=["1.0.0"])
    docs: str | None = Field(examples=["/docs"], description="The interactive documentation.")
    openapi: str | None = Field(examples=["/openapi.json"], description="The OpenAPI document.")
    collections: list[IndexEntry]


def _collections(app: FastAPI) -> list[tuple[str, str, str]]:
    """(name, path, summary) of every ``GET /v1/<name>`` route, in the order they are served."""
    found: dict[str, tuple[str, str, str]] = {}
    for context in route_contexts(app):
        path = context.path_format
        methods = context.methods or set()
        name = (path or "").removeprefix(INDEX_PATH + "/")
        if path is None or "GET" not in methods or not path.startswith(INDEX_PATH + "/"):
            continue
        if "/" in name or "{" in name or not getattr(context, "include_in_schema", True):
            continue
        found.setdefault(path, (name, path, str(getattr(context, "summary", None) or name)))
    return list(found.values())


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

    @router.get(
        INDEX_PATH,
        summary="The API's resources, documentation and OpenAPI document",
        response_model=ApiIndex,
        response_description="Links to the top-level resources, the documentation and the "
        "OpenAPI document, under the API's root path.",
    )
    async def api_index(request: Request) -> ApiIndex:
        app: FastAPI = request.app
        # MC2CM_ROOT_PATH (shared.root_path): the paths the caller can reach.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return ApiIndex(
            title=app.title,
            version=app.version,
            docs=root + app.docs_url if app.docs_url else None,
            openapi=root + app.openapi_url if app.openapi_url else None,
            collections=[
                IndexEntry(name=name, href=root + path, summary=summary)
                for name, path, summary in _collections(app)
            ],
        )

    @router.get(
        "/healthz",
        summary="The process is up",
        response_model=Health,
        response_description='The process is up: `{"status": "ok"}`.',
    )
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="PostgreSQL and Redis are reachable",
        response_model=Readiness,
        response_description="PostgreSQL and Redis answered; `checks` gives each one's state.",
        responses={503: {"description": "A dependency is down; `checks` says which"}},
    )
    async def readyz(request: Request) -> Response:
        checks = await check_dependencies(request.app.state.database, request.app.state.redis)
        return readiness_response(checks, instance=request.url.path)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        response_description="The service's metrics in the Prometheus text format.",
    )
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


async def _one_value_per_parameter(request: Request) -> None:
    """A query parameter that takes one value, given twice, is refused (422 naming it): the
    framework would keep the last one and drop the other without a word."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    single = _single_valued_query_parameters(request, route)
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in single and name in seen:
            raise invalid(name, "is given more than once; it takes one value", location="query")
        seen.add(name)


def _single_valued_query_parameters(request: Request, route: APIRoute) -> frozenset[str]:
    """The names of ``route``'s query parameters that take one value (kept per app)."""
    known: dict[int, frozenset[str]] = request.app.state.single_valued_query_parameters
    names = known.get(id(route))
    if names is None:
        names = known[id(route)] = frozenset(
            field.alias
            for field in _query_fields(route.dependant)
            if not _takes_several(field.field_info.annotation)
        )
    return names


def _query_fields(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _query_fields(dependency)


def _takes_several(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return any(_takes_several(member) for member in typing.get_args(annotation))
    return typing.get_origin(annotation) in (list, tuple, set, frozenset) or annotation in (
        list,
        tuple,
        set,
        frozenset,
    )


async def _authenticated_first(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> None:
    """401 for an anonymous caller of an operation that needs a token, before any of the
    operation's own dependencies can refuse its parameters (a cursor, a filter): a caller
    without a token learns that first, whatever else is wrong with the request."""
    route = request.scope.get("route")
    if principal is None and isinstance(route, APIRoute) and _requires_token(request, route):
        await require_principal(None)


def _requires_token(request: Request, route: APIRoute) -> bool:
    """Whether ``route`` needs a token, worked out on its first request (kept per app: routes
    live as long as their app)."""
    needs_token: dict[int, bool] = request.app.state.routes_needing_token
    known = needs_token.get(id(route))
    if known is None:
        known = needs_token[id(route)] = require_principal in dependency_calls(route.dependant)
    return known


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
    app.state.service = service
    app.state.routes_needing_token = {}
    app.state.single_valued_query_parameters = {}
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
    checks = [
        Depends(_no_nul_in_url),
        Depends(_one_value_per_parameter),
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
            router, dependencies=[*checks, Depends(limit), Depends(_authenticated_first)]
        )
    check_route_order(app)
    install_openapi(app, service=service)
    # Middleware, from the innermost: a method the path's resource lacks answered 405 before
    # the router sees it (shared.routing), Idempotency-Key inside the body limit (a body
    # refused up front never reaches it), the body limit inside CORS (so that a browser can
    # read the 413), the root path (MC2CM_ROOT_PATH: the scope's, and Location headers), and
    # the request id around everything.
    app.add_middleware(MethodNotAllowedMiddleware, fastapi_app=app)
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
