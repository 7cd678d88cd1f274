"""Checks every request of the APIs' domain routes goes through before the route's own
dependencies: what no parameter may hold, one value for a parameter that takes one, and
authentication before anything else can refuse the request.

Installed as router dependencies by ``shared.app.create_service_app``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.auth import Principal, optional_principal, require_principal
from shared.errors import invalid
from shared.openapi import dependency_calls
from shared.schemas import contains_nul


async def no_nul_in_url(request: Request) -> None:
    """A NUL character in a query or path parameter is refused, naming the parameter."""
    for location, items in (
        ("query", request.query_params.multi_items()),
        ("path", request.path_params.items()),
    ):
        for name, value in items:
            if contains_nul(name) or contains_nul(value):
                raise invalid(name, "must not contain the NUL character", location=location)


async def one_value_per_parameter(request: Request) -> None:
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
    known: dict[int, frozenset[str]] = _per_app(request, "single_valued_query_parameters")
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


async def authenticated_first(
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
    needs_token: dict[int, bool] = _per_app(request, "routes_needing_token")
    known = needs_token.get(id(route))
    if known is None:
        known = needs_token[id(route)] = require_principal in dependency_calls(route.dependant)
    return known


def _per_app(request: Request, name: str) -> dict[int, Any]:
    """A cache kept on the app by route (routes live as long as their app)."""
    cache: dict[int, Any] | None = getattr(request.app.state, name, None)
    if cache is None:
        cache = {}
        setattr(request.app.state, name, cache)
    return cache
