"""Which resource a request's path names, and the methods it has.

A path can fit several routes' templates: ``/v1/exchanges/matches`` fits
``/v1/exchanges/matches`` and ``/v1/exchanges/{exchange_id}``. The resource is the template
whose literal segments come first (a literal beats a parameter at the first segment where they
differ), and its methods are those of every route of that template (and of any template of the
same shape, whatever its parameters are called). ``MethodNotAllowedMiddleware`` answers a
method the resource lacks with a 405 whose ``Allow`` lists them all, before the framework's
router, which would hand ``PATCH /v1/exchanges/matches`` to the ``{exchange_id}`` route (a 422
about the id) or name only the methods of the first route it tried in ``Allow``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ProblemError, render_problem

_PARAMETER = re.compile(r"\{[^}]*\}")


def route_contexts(app: FastAPI) -> list[Any]:
    """Every route of the app as the router tries them, included routers' too: objects with
    ``path`` (with convertors), ``path_format``, ``methods``, ``summary``,
    ``include_in_schema`` and ``original_route``. (FastAPI gives them as route contexts;
    a FastAPI that copies included routes into ``app.routes`` gives the routes themselves.)"""
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:
        return list(app.routes)
    return list(iter_route_contexts(list(app.routes)))


def api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """(path, methods, route) of every API route, including those of included routers."""
    for context in route_contexts(app):
        route = getattr(context, "original_route", context)
        if isinstance(route, APIRoute):
            path = getattr(context, "path_format", None) or route.path_format
            yield path, set(getattr(context, "methods", None) or ()), route


def route_path(scope: Scope) -> str:
    """The request's path as the router matches it: without the root path, which ASGI puts
    at the start of ``path`` (``shared.root_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


@dataclass(frozen=True)
class Resource:
    """One template of the app's paths, e.g. ``/v1/cities/{code}``, and its methods."""

    template: str
    methods: frozenset[str]
    pattern: re.Pattern[str]

    @property
    def specificity(self) -> tuple[int, ...]:
        """1 for each literal segment, 0 for one holding a parameter: compared in order, so
        the template with a literal where another has a parameter comes first."""
        return tuple(0 if "{" in part else 1 for part in self.template.split("/"))

    @property
    def shape(self) -> str:
        """The template with its parameters unnamed: ``/v1/exchanges/{}/matches``."""
        return _PARAMETER.sub("{}", self.template)

    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


def _route_templates(app: FastAPI) -> Iterator[tuple[str, set[str]]]:
    """(path with convertors, methods) of every HTTP route, included routers' too, in the
    order the router tries them."""
    for context in route_contexts(app):
        path = getattr(context, "path", None)
        methods = getattr(context, "methods", None)
        if path is not None and methods:
            yield path, set(methods)


class ResourceTable:
    """The app's path templates, merged by shape, each with all the methods it has."""

    def __init__(self, templates: Iterable[tuple[str, Iterable[str]]]) -> None:
        by_shape: dict[str, tuple[str, set[str]]] = {}
        for path, methods in templates:
            shape = _PARAMETER.sub("{}", path)
            _, known = by_shape.setdefault(shape, (path, set()))
            known |= set(methods)
        self.resources = [
            Resource(template=path, methods=frozenset(methods), pattern=compile_path(path)[0])
            for path, methods in by_shape.values()
        ]

    @classmethod
    def of_app(cls, app: FastAPI) -> ResourceTable:
        return cls(_route_templates(app))

    def resolve(self, path: str) -> Resource | None:
        """The resource ``path`` names: of the templates it fits, the one whose literal
        segments come first; ``None`` when it fits none."""
        fitting = [resource for resource in self.resources if resource.pattern.match(path)]
        return max(fitting, key=lambda resource: resource.specificity, default=None)


def check_route_order(app: FastAPI) -> None:
    """Refuse an app where a route of a less specific template is tried before a route of
    the same method on a more specific one, which would take its requests (``GET /{id}``
    declared before ``GET /matches``): the router tries routes in order."""
    earlier: list[tuple[Resource, set[str]]] = []
    for path, methods in _route_templates(app):
        route = Resource(template=path, methods=frozenset(methods), pattern=compile_path(path)[0])
        sample = _PARAMETER.sub("1", path)
        for before, before_methods in earlier:
            if (
                methods & before_methods
                and before.shape != route.shape
                and before.specificity < route.specificity
                and before.pattern.match(sample)
            ):
                raise RuntimeError(
                    f"{path} is declared after {before.template}, which would take its "
                    f"{sorted(methods & before_methods)} requests: declare {path} first."
                )
        earlier.append((route, set(methods)))


class MethodNotAllowed(ProblemError):
    status = 405
    slug = "method-not-allowed"
    title = "Method Not Allowed"


class MethodNotAllowedMiddleware:
    """405 with ``Allow`` listing every method of the resource the path names, when the
    request's method is not one of them; anything else goes on to the router."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self._table: ResourceTable | None = None

    @property
    def table(self) -> ResourceTable:
        # Built on the first request: routes may be added after the middleware is.
        if self._table is None:
            self._table = ResourceTable.of_app(self.fastapi_app)
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resource = self.table.resolve(route_path(scope))
        method = scope["method"]
        if resource is None or method in resource.methods:
            await self.app(scope, receive, send)
            return
        allow = resource.allow()
        instance = scope["path"]
        problem = MethodNotAllowed(
            f"{method} is not allowed on {instance}; allowed: {allow}.",
            headers={"Allow": allow},
        )
        await render_problem(problem, instance=instance)(scope, receive, send)


class OperationTable:
    """Which API route (operation) a method and path reach, for middleware that must know
    it before the router runs (``shared.idempotency``: whom the operation serves)."""

    def __init__(self, app: FastAPI) -> None:
        # In the router's order: ``check_route_order`` makes the first fit the right one.
        self._routes = [
            (compile_path(path)[0], frozenset(methods), route)
            for path, methods, route in api_routes(app)
        ]

    def route_for(self, method: str, path: str) -> APIRoute | None:
        """The route the router runs for ``method`` on ``path`` (without the root path);
        ``None`` when none fits both (a 404 or 405)."""
        for pattern, methods, route in self._routes:
            if method in methods and pattern.match(path):
                return route
        return None


def operation_table(app: Any) -> OperationTable:
    """The app's table, built on first use (every route is added before the first request)."""
    table: OperationTable | None = getattr(app.state, "operation_table", None)
    if table is None:
        table = app.state.operation_table = OperationTable(app)
    return table
