"""The worker's operations endpoints: ``/healthz``, ``/readyz`` and ``/metrics`` over HTTP.

A small Starlette app served by uvicorn inside the worker's own event loop, on
``MC2CM_METRICS_HOST:MC2CM_METRICS_PORT`` (port 0: not served). It answers as the APIs'
endpoints do (``shared.readiness``): ``/readyz`` is a 503 problem naming PostgreSQL or Redis
when one does not answer, and also while the worker drains (it takes no new job, so it is
not ready; ``checks`` says ``"jobs": "draining"``). The server stops after the running jobs
have finished, so the last scrape sees how they ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Generator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.worker.context import WorkerContext
from shared.readiness import check_dependencies, readiness_response

log = logging.getLogger(__name__)


def operations_app(context: WorkerContext, draining: asyncio.Event) -> Starlette:
    """The endpoints of one worker process; ``draining`` is set once it takes no new job."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await check_dependencies(context.database, context.redis)
        if draining.is_set():
            checks["jobs"] = "draining"
        return readiness_response(checks, instance=request.url.path)

    async def metrics(request: Request) -> Response:
        await context.metrics.outbox.refresh(context.database)
        return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the worker's own handle SIGTERM (drain the jobs
    first), and this server is stopped after them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serve_operations(context: WorkerContext, draining: asyncio.Event) -> AsyncIterator[None]:
    """Serve the operations endpoints until the block ends (nothing when the port is 0).

    The address is bound before anything else starts: a port already taken fails the worker
    at once (``OSError``) rather than leaving it running without probes.
    """
    settings = context.settings
    if settings.metrics_port == 0:
        yield
        return
    address = (settings.metrics_host, settings.metrics_port)
    family = socket.AF_INET6 if ":" in settings.metrics_host else socket.AF_INET
    try:
        listener = socket.create_server(address, family=family)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"cannot serve the worker's /healthz, /readyz and /metrics on "
            f"{settings.metrics_host}:{settings.metrics_port}: {exc.strerror} (set "
            "MC2CM_METRICS_PORT to a free port, or to 0 to serve none)",
        ) from exc
    config = uvicorn.Config(
        operations_app(context, draining),
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = _EmbeddedServer(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    if serving.done():
        listener.close()
        serving.result()  # raises what stopped it
        raise RuntimeError("the worker's operations server stopped on start")
    log.info(
        "worker operations endpoints on http://%s:%d (/healthz, /readyz, /metrics)",
        settings.metrics_host,
        settings.metrics_port,
    )
    try:
        yield
    finally:
        server.should_exit = True
        await serving
