"""The app's API routes as a table: which operation a method and path reach, outside routing.

FastAPI resolves a request's route only when the request reaches the router; middleware that
must know the operation earlier (``shared.idempotency``: who the operation serves) asks this
table instead. It is built from the app's routes on first use and matches paths as the router
does (Starlette's path patterns, convertors included).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import Scope


def api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of every API route, including those of included routers."""
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:  # FastAPI that copies included routes into app.routes
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path_format, set(route.methods or ()), route
        return
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield context.path_format or route.path_format, set(context.methods or ()), route


@dataclass(frozen=True)
class _Entry:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    route: APIRoute


class RouteTable:
    """Finds the API route a method and path reach, in the router's order."""

    def __init__(self, app: FastAPI) -> None:
        self._entries: list[_Entry] = []
        for path, methods, route in api_routes(app):
            pattern, _, _ = compile_path(path)
            self._entries.append(_Entry(pattern, frozenset(methods), route))

    def route_for(self, method: str, path: str) -> APIRoute | None:
        """The route the router would run for ``method`` on ``path`` (without the root
        path); ``None`` when none matches both (a 404 or 405)."""
        for entry in self._entries:
            if method in entry.methods and entry.pattern.match(path):
                return entry.route
        return None


def route_path(scope: Scope) -> str:
    """The request's path as the router matches it: without the root path, which ASGI puts
    at the start of ``path`` (``shared.root_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def route_table(app: Any) -> RouteTable:
    """The app's table, built once (the routes are all added before the first request)."""
    table: RouteTable | None = getattr(app.state, "route_table", None)
    if table is None:
        table = app.state.route_table = RouteTable(app)
    return table
