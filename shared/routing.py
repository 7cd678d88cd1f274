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

import fastapi.routing
from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ProblemError, render_problem

_PARAMETER = re.compile(r"\{[^}]*\}")


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


def _route_templates(routes: Iterable[BaseRoute]) -> Iterator[tuple[str, set[str]]]:
    """(path with convertors, methods) of every HTTP route, included routers' too, in the
    order the router tries them."""
    for context in fastapi.routing.iter_route_contexts(list(routes)):
        path = context.path
        methods = context.methods
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
        return cls(_route_templates(app.routes))

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
    for path, methods in _route_templates(app.routes):
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
        path = get_route_path(scope)
        resource = self.table.resolve(path)
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
