"""OpenAPI conventions: stable operation ids and problem documents for every error response.

The documents partners generate clients from are committed under ``docs/openapi/``; write one
with ``python -m shared.openapi services.profiles_api.app:create_app docs/openapi/profiles.json``
(``--check`` compares instead of writing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shared.access_matrix import callers_of, describe
from shared.auth import require_principal
from shared.errors import PROBLEM_MEDIA_TYPE, Problem
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.idempotency import MAX_KEY_LENGTH
from shared.pagination import page_params
from shared.rate_limit import WRITE_METHODS
from shared.settings import Environment, Settings

_ERROR_DESCRIPTIONS = {
    "400": "Bad request",
    "401": "Missing or invalid bearer token",
    "403": "The caller may not do this",
    "404": "Not found",
    "409": "Conflict with existing data",
    "412": "If-Match names an older version",
    "413": "Payload too large",
    "415": "Unsupported media type",
    "422": "Invalid input; `errors` names each field",
    "428": "If-Match is required",
    "429": "Too many writes by this caller; retry after `Retry-After` seconds",
    "503": "A dependency is unavailable",
}
_ALWAYS = ("422", "503")
_BODY_TOO_LARGE = "The body is over this operation's limit; `max_body_bytes` gives it"


#: Every POST honours ``Idempotency-Key`` (``shared.idempotency``).
_IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "A key of your choosing (a UUID) that makes a retry safe: the same key with "
    "the same request within 24 hours returns the first response (`Idempotent-Replayed: "
    "true`) instead of doing it again; with another request, 422; while the first is still "
    "running, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


def operation_id(route: APIRoute) -> str:
    """The operation id of a route is its endpoint's name: stable and readable in clients."""
    return route.name


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency callable a route resolves, however deep."""
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= _calls(dependency)
    return found


def _api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
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


def _anonymous_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of operations that serve anonymous callers: all but those that require
    a principal. (Every router of a service checks a token that is sent, through a dependency
    of the router that the route's own dependencies do not show; a route that never looks at
    the caller is public all the same.)"""
    anonymous: set[tuple[str, str]] = set()
    for path, methods, route in _api_routes(app):
        if require_principal not in _calls(route.dependant):
            anonymous |= {(path, method.lower()) for method in methods}
    return anonymous


def _takes_if_match(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match"
        for parameter in operation.get("parameters", ())
    )


def _paged_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the lists paged by ``shared.pagination``."""
    return {
        (path, method.lower())
        for path, methods, route in _api_routes(app)
        if page_params in _calls(route.dependant)
        for method in methods
    }


def _document_page_size(operation: dict[str, Any], settings: Settings) -> None:
    """The page size's cap is a setting, so the document states the app's own."""
    for parameter in operation.get("parameters", ()):
        if parameter.get("in") != "query" or parameter.get("name") != "limit":
            continue
        schema = parameter.get("schema", {})
        for alternative in schema.get("anyOf", [schema]):
            if alternative.get("type") == "integer":
                alternative["maximum"] = settings.pagination_max_limit


def _publish_access(operation: dict[str, Any], service: str) -> None:
    """Say who may call the operation (``shared/access_matrix.py``): the ``x-mc2cm-access``
    extension, a line of its description, and no token required where anyone may call it."""
    callers = callers_of(service, operation.get("operationId", ""))
    if callers is None:
        return
    operation["x-mc2cm-access"] = list(callers)
    line = describe(callers)
    description = operation.get("description")
    operation["description"] = f"{description}\n\n{line}" if description else line
    security = operation.get("security")
    if "anonymous" in callers and security and {} not in security:
        # Routers read a token when one is sent, so public reads list bearer security too.
        operation["security"] = [{}, *security]


def install_openapi(app: FastAPI, *, service: str | None = None) -> None:
    """Document every 4xx/5xx response of every operation as an RFC 9457 problem, and, for a
    ``service`` of the platform, who may call each operation."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem_schema.pop("$defs", {}))
        components["Problem"] = problem_schema
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        anonymous = _anonymous_operations(app)
        paged = _paged_operations(app)
        settings: Settings = app.state.settings
        for path, path_item in schema.get("paths", {}).items():
            for method, operation in path_item.items():
                responses: dict[str, Any] = operation.setdefault("responses", {})
                if method == "post":
                    operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY_PARAMETER)
                    responses.setdefault("409", {})
                for status in _ALWAYS:
                    responses.setdefault(status, {})
                if method.upper() in WRITE_METHODS:
                    # Every write is rate-limited (shared.rate_limit).
                    responses.setdefault("429", {})
                if "requestBody" in operation:
                    # Every body is capped (shared.body_limit).
                    responses.setdefault("413", {"description": _BODY_TOO_LARGE})
                if (path, method) in paged:
                    _document_page_size(operation, settings)
                if _takes_if_match(operation):
                    # A stale If-Match is a 412 and a blank one a 428, on deletes too.
                    for status in ("412", "428"):
                        responses.setdefault(status, {})
                if operation.get("security"):
                    # A token that is sent is checked, even where none is needed.
                    responses.setdefault("401", {})
                    if (path, method) in anonymous:
                        # `{}` lets clients call without a token (OpenAPI 3.1 §4.8.10).
                        operation["security"] = [{}, *operation["security"]]
                for status, response in responses.items():
                    if status.startswith(("4", "5")):
                        response["description"] = response.get("description") or (
                            _ERROR_DESCRIPTIONS.get(status, "Error")
                        )
                        if response["description"] == "Validation Error":
                            response["description"] = _ERROR_DESCRIPTIONS["422"]
                        response["content"] = _problem_content()
                if service is not None:
                    _publish_access(operation, service)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it can answer besides 422 and 503."""
    return {status: {"description": _ERROR_DESCRIPTIONS[str(status)]} for status in statuses}


def openapi_json(app: FastAPI) -> str:
    """The app's OpenAPI document as committed under ``docs/openapi/``."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def render_openapi(factory: Callable[[Settings], FastAPI]) -> str:
    """The OpenAPI document of the app ``factory`` builds; no server is contacted."""
    return openapi_json(factory(Settings(environment=Environment.test)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m shared.openapi MODULE:FACTORY OUTPUT [--check]``."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.openapi", description="Write a service's OpenAPI document."
    )
    parser.add_argument(
        "factory", help="the app factory, e.g. services.profiles_api.app:create_app"
    )
    parser.add_argument("output", type=Path, help="e.g. docs/openapi/profiles.json")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is not up to date; write nothing"
    )
    args = parser.parse_args(argv)
    module, _, name = args.factory.partition(":")
    document = render_openapi(getattr(importlib.import_module(module), name or "create_app"))
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != document:
            sys.stderr.write(f"{output} is not the app's OpenAPI document; regenerate it.\n")
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
