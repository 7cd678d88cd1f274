"""The routes every API serves beside its domains: the index at ``/v1`` (where a newcomer
starts: the collections, the docs, the OpenAPI document), and the operations endpoints
(``/healthz``, ``/readyz``, ``/metrics``) that orchestrators and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from shared.outbox_metrics import OutboxMetrics
from shared.readiness import Readiness, check_dependencies, readiness_response
from shared.routing import route_contexts


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


def ops_router() -> APIRouter:
    """The index and the operations endpoints, tagged ``operations``."""
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
        response_description="PostgreSQL and Redis answered; `checks` gives each one's state. "
        "`status` is `degraded` when a read replica is down (its reads go to the primary).",
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
