"""OpenAPI conventions: stable operation ids and problem documents for every error response."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shared.errors import PROBLEM_MEDIA_TYPE, Problem

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
    "503": "A dependency is unavailable",
}
_ALWAYS = ("422", "503")


def operation_id(route: APIRoute) -> str:
    """The operation id of a route is its endpoint's name: stable and readable in clients."""
    return route.name


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def install_openapi(app: FastAPI) -> None:
    """Document every 4xx/5xx response of every operation as an RFC 9457 problem."""

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
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses: dict[str, Any] = operation.setdefault("responses", {})
                for status in _ALWAYS:
                    responses.setdefault(status, {})
                for status, response in responses.items():
                    if status.startswith(("4", "5")):
                        response["description"] = response.get("description") or (
                            _ERROR_DESCRIPTIONS.get(status, "Error")
                        )
                        if response["description"] == "Validation Error":
                            response["description"] = _ERROR_DESCRIPTIONS["422"]
                        response["content"] = _problem_content()
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it can answer besides 422 and 503."""
    return {status: {"description": _ERROR_DESCRIPTIONS[str(status)]} for status in statuses}
