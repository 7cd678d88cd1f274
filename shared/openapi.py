"""OpenAPI conventions: stable operation ids and problem documents for every error response.

The documents partners generate clients from are committed under ``docs/openapi/``; write one
with ``python -m shared.openapi services.profiles_api.app:create_app docs/openapi/profiles.json``
(``--check`` compares instead of writing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from shared.access_matrix import callers_of, describe
from shared.auth import require_principal
from shared.caching import UNCACHED_PATHS
from shared.concurrency import if_match_required
from shared.contracts.events import EventPayload, OutboxEvent
from shared.errors import PROBLEM_MEDIA_TYPE, Problem
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.idempotency import MAX_KEY_LENGTH, REPLAYED_HEADER
from shared.openapi_examples import example_of
from shared.pagination import page_params
from shared.rate_limit import WRITE_METHODS
from shared.replicas import CONSISTENCY_HEADER
from shared.routing import api_routes
from shared.settings import Environment, Settings
from shared.text import TEXT_NOT_BLANK_PATTERN, TEXT_PATTERN

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
_ALWAYS = ("503",)
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
    # Printable ASCII (a header value starts and ends with no space: HTTP strips it).
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
    },
}

#: Every read may wait for the caller's own write (``shared.replicas``).
_CONSISTENCY_TOKEN_PARAMETER: dict[str, Any] = {
    "name": CONSISTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "The `Consistency-Token` a write of yours answered: the read then shows "
    "that write (it waits up to 250 ms for a read replica to have it, or is served by the "
    "primary). Without it a read may lag writes by as much as the replicas do. The answer "
    "is then `private`.",
    "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"},
}

#: The response headers the platform sends, documented once (``components.headers``) and
#: referred to from every response that can carry them.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id, also in the logs: the caller's `X-Request-ID` when "
        "it is 1 to 128 of `A-Z a-z 0-9 . _ : -`, otherwise a new one.",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
    },
    "ETag": {
        "description": "The representation's entity tag: an editable resource's version "
        '(`"3"`, to send back in `If-Match` to change or remove it), an edition\'s content '
        'hash, otherwise a hash of the body; a streamed export\'s is weak (`W/"…"`). Send '
        "it in `If-None-Match` to get `304 Not Modified` while it is current.",
        "schema": {"type": "string", "pattern": r'^(W/)?"[!#-~]*"$'},
    },
    "Cache-Control": {
        "description": "`no-cache` (caches revalidate every time, with `If-None-Match`), "
        "`public` for anonymous reads and `private` when a token or a `Consistency-Token` "
        "was sent.",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "The request headers the answer depends on: `Authorization` and "
        "`Consistency-Token` on every read, `Accept-Language` where texts are translated, "
        "`Accept` where formats are negotiated.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The next page (RFC 8288): `<…?cursor=…>; rel="next"`, the request\'s '
        "URL with `next_cursor` as its cursor; absent on the last page.",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The path of the resource created (under the API's root path).",
        "schema": {"type": "string"},
    },
    "Content-Language": {
        "description": "The language the texts are in, chosen from `Accept-Language` with "
        "English as the fallback.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "RateLimit-Limit": {
        "description": "Writes this caller may make per window (when rate limits are on).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "RateLimit-Remaining": {
        "description": "Writes left to this caller in the current window.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the window starts again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    CONSISTENCY_HEADER: {
        "description": "Where the write left the database: send it back in "
        "`Consistency-Token` on the reads that must show it.",
        "schema": {"type": "string", "pattern": "^[0-9A-F]{1,8}/[0-9A-F]{1,8}$"},
    },
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same `Idempotency-Key`, replayed rather than done again.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
#: FastAPI's descriptions of success, which say nothing of what comes back.
_PLACEHOLDER_DESCRIPTIONS = {"Successful Response", "Created", ""}


def operation_id(route: APIRoute) -> str:
    """The operation id of a route is its endpoint's name: stable and readable in clients."""
    return route.name


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def dependency_calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency callable a route resolves, however deep."""
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= dependency_calls(dependency)
    return found


def _anonymous_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of operations that serve anonymous callers: all but those that require
    a principal. (Every router of a service checks a token that is sent, through a dependency
    of the router that the route's own dependencies do not show; a route that never looks at
    the caller is public all the same.)"""
    anonymous: set[tuple[str, str]] = set()
    for path, methods, route in api_routes(app):
        if require_principal not in dependency_calls(route.dependant):
            anonymous |= {(path, method.lower()) for method in methods}
    return anonymous


def _header_parameter(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next(
        (
            parameter
            for parameter in operation.get("parameters", ())
            if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower()
        ),
        None,
    )


def _document_if_match(operation: dict[str, Any], method: str) -> bool:
    """Whether the operation takes ``If-Match``; if so, documented as the server checks it:
    required on updates (the server answers 428 without it, so the route's own parameter
    stays optional: a missing header is a 428, not a validation 422), a non-blank tag."""
    parameter = _header_parameter(operation, "If-Match")
    if parameter is None:
        return False
    parameter["required"] = if_match_required(method)
    parameter["schema"] = {"type": "string", "pattern": r"\S", "examples": ['"3"']}
    return True


#: PostgreSQL's bigint maximum, every id's bound.
_BIGINT_MAX = 2**63 - 1


def _exact_integer_bounds(node: Any) -> None:
    """Integer bounds as integers. FastAPI's OpenAPI models hold bounds as floats, which turns
    ``le=2**63 - 1`` into 9.223372036854776e18, i.e. 2**63: a client (or a fuzzer) sending
    that is refused. The bigint maximum is the only bound past 2**53 the platform declares."""
    if isinstance(node, list):
        for item in node:
            _exact_integer_bounds(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "integer":
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = node.get(key)
            if isinstance(bound, float) and bound.is_integer():
                node[key] = _BIGINT_MAX if bound == float(_BIGINT_MAX) else int(bound)
    for value in node.values():
        _exact_integer_bounds(value)


def _document_text_rule(
    schema: dict[str, Any], components: dict[str, Any], seen: set[str] | None = None
) -> None:
    """State on every free text of a request body (strings without a pattern, format or
    enum, and the non-blank texts of language maps) what ``InputModel`` refuses in them."""
    seen = set() if seen is None else seen
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in components:
            seen.add(name)
            _document_text_rule(components[name], components, seen)
        return
    if schema.get("type") == "string" and not {"enum", "format", "const"} & set(schema):
        if "pattern" not in schema:
            schema["pattern"] = TEXT_PATTERN
        elif schema["pattern"] == r"\S":
            schema["pattern"] = TEXT_NOT_BLANK_PATTERN
    for key in ("properties", "$defs"):
        for member in schema.get(key, {}).values():
            if isinstance(member, dict):
                _document_text_rule(member, components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _document_text_rule(schema[key], components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, ()):
            _document_text_rule(member, components, seen)


#: What ``shared.app`` refuses in any query or path parameter: the NUL character.
_NO_NUL = "^[^\\x00]*$"


def _document_no_nul(schema: dict[str, Any]) -> None:
    """State on every free-text query or path parameter that NUL is refused (422)."""
    for alternative in schema.get("anyOf", ()):
        _document_no_nul(alternative)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        _document_no_nul(schema["items"])
    if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & set(schema):
        schema["pattern"] = _NO_NUL


def _validating_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of operations that validate something of the request (parameters,
    body, or a dependency that may refuse it): the others cannot answer 422."""
    validating: set[tuple[str, str]] = set()
    for path, methods, route in api_routes(app):
        dependant = route.dependant
        if (
            dependant.dependencies
            or dependant.path_params
            or dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
        ):
            validating |= {(path, method.lower()) for method in methods}
    return validating


def _schema_of(response: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a response's JSON body, its ``$ref`` resolved; ``{}`` if none."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return dict(schemas.get(ref.rsplit("/", 1)[-1], {})) if ref else schema


def _versioned(schema: dict[str, Any]) -> bool:
    """Whether a body is an editable resource: its integer ``version`` is its ``ETag``."""
    version: dict[str, Any] = schema.get("properties", {}).get("version", {})
    return version.get("type") == "integer"


def _noun(schema: dict[str, Any]) -> str:
    """``CityRead`` → ``city``, ``AgendaItemRead`` → ``agenda item``."""
    title = str(schema.get("title", "result")).removesuffix("Read").removesuffix("Created")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", title).lower()


def _success_description(method: str, status: str, schema: dict[str, Any]) -> str:
    """What a 2xx response carries, said from the method, the status and the body's schema."""
    versioned = _versioned(schema)
    if status == "204":
        return "Done; the response has no body."
    if str(schema.get("title", "")).startswith("Page["):
        return (
            "One page of the list, in its documented order; `next_cursor` continues it and "
            "is null on the last page."
        )
    noun = _noun(schema)
    if status == "201":
        return f"Created: the new {noun}, at the path `Location` gives."
    if method in {"patch", "put"} or (method == "post" and versioned):
        return f"The {noun} as changed" + ("; `ETag` is its new version." if versioned else ".")
    return f"The {noun}" + ("; `ETag` is its version." if versioned else ".")


def _document_responses(
    operation: dict[str, Any],
    method: str,
    schemas: dict[str, Any],
    headers: set[str],
    *,
    paged: bool = False,
    cached: bool = True,
) -> None:
    """2xx descriptions that say what comes back, and the headers each response can carry
    (``RESPONSE_HEADERS``): ``X-Request-ID`` always, ``ETag`` with a versioned resource and
    every read (``shared.caching``; with ``Cache-Control`` and ``Vary``), ``Link`` on lists,
    ``Location`` on 201, ``Content-Language`` where ``Accept-Language`` is read,
    ``Retry-After`` on 429 and 503, ``RateLimit-*`` on writes, ``Idempotent-Replayed`` on
    POST."""
    negotiates_language = _header_parameter(operation, "Accept-Language") is not None
    for status, response in operation.get("responses", {}).items():
        schema = _schema_of(response, schemas)
        names = ["X-Request-ID"]
        if status.startswith("2"):
            if response.get("description", "") in _PLACEHOLDER_DESCRIPTIONS:
                response["description"] = _success_description(method, status, schema)
            read = cached and method == "get" and status == "200"
            if _versioned(schema) or read:
                names.append("ETag")
            if read:
                # shared.caching
                names += ["Cache-Control", "Vary"]
                if paged:
                    names.append("Link")
            if status == "201":
                names.append("Location")
            if negotiates_language and status != "204":
                names.append("Content-Language")
        if status in {"429", "503"}:
            names.append("Retry-After")
        if method.upper() in WRITE_METHODS:
            names += _RATE_LIMIT_HEADERS
            if status.startswith("2"):
                names.append(CONSISTENCY_HEADER)
        if method == "post":
            names.append(REPLAYED_HEADER)
        documented = response.setdefault("headers", {})
        for name in names:
            documented.setdefault(name, {"$ref": f"#/components/headers/{name}"})
        headers.update(names)


def _document_request_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """An example of every JSON request body, built from its schema's field examples
    (``shared.openapi_examples``), where the route gave none; and the rule of its texts."""
    for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
        if media_type != "application/json":
            continue
        _document_text_rule(content.get("schema", {}), schemas)
        if "example" in content or "examples" in content:
            continue
        example = example_of(content.get("schema", {}), schemas)
        if example is not None:
            content["example"] = example


def _paged_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the lists paged by ``shared.pagination``."""
    return {
        (path, method.lower())
        for path, methods, route in api_routes(app)
        if page_params in dependency_calls(route.dependant)
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


def event_payloads() -> dict[str, type[EventPayload]]:
    """Every event type of the platform (``shared.contracts.events``) and its payload model."""
    found: dict[str, type[EventPayload]] = {}
    pending = list(EventPayload.__subclasses__())
    while pending:
        model = pending.pop()
        found[model.event_type] = model
        pending += model.__subclasses__()
    return dict(sorted(found.items()))


#: The Standard Webhooks headers of every delivery (``services/dialogue_api/notifications``).
_WEBHOOK_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The delivery's id, the same on every attempt: de-duplicate on it.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "When this attempt was sent, in seconds since the Unix epoch.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,<base64>`: HMAC-SHA256, with the subscription's secret, of "
        "`<webhook-id>.<webhook-timestamp>.<body>` (Standard Webhooks).",
        "schema": {"type": "string"},
    },
]


def _webhook_name(event_type: str) -> str:
    """``city.upserted`` → ``CityUpsertedWebhook``."""
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type)) + "Webhook"


def document_webhooks(
    schema: dict[str, Any], components: dict[str, Any], event_types: Collection[str]
) -> None:
    """The top-level ``webhooks`` (OpenAPI 3.1) of the events a partner may subscribe to: each
    a POST of the outbox envelope (``OutboxEvent``) whose ``type`` is the event type and whose
    ``data`` is its payload, so that receivers can be generated and deliveries checked."""
    payloads = event_payloads()
    unknown = sorted(set(event_types) - set(payloads))
    if unknown:
        raise ValueError(f"webhook event types without a payload model: {unknown}")
    models = [
        (OutboxEvent, "serialization"),
        *((payloads[t], "serialization") for t in event_types),
    ]
    _, definitions = models_json_schema(
        models,  # type: ignore[arg-type]
        ref_template="#/components/schemas/{model}",
    )
    for name, definition in definitions.get("$defs", {}).items():
        if name in components and components[name] != definition:
            raise ValueError(f"the payload schema {name} differs from the API's schema {name}")
        components[name] = definition
    envelope = components.pop("OutboxEvent")
    webhooks: dict[str, Any] = {}
    for event_type in sorted(event_types):
        payload = payloads[event_type]
        name = _webhook_name(event_type)
        properties = dict(envelope["properties"])
        properties["type"] = {"const": event_type, "title": "Type"}
        properties["data"] = {"$ref": f"#/components/schemas/{payload.__name__}"}
        components[name] = {
            **envelope,
            "title": name,
            "description": f"A delivery of `{event_type}`: the outbox envelope and its payload.",
            "properties": properties,
            # Every key of the envelope is sent, null or not.
            "required": list(properties),
            "additionalProperties": False,
        }
        webhooks[event_type] = {
            "post": {
                "operationId": "webhook_" + re.sub(r"\W", "_", event_type),
                "summary": f"`{event_type}`",
                "description": (payload.__doc__ or f"A `{event_type}` event.").strip(),
                "tags": ["webhooks"],
                "parameters": _WEBHOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {
                    "2XX": {"description": "Taken. Any other answer, or none, is retried."}
                },
            }
        }
    schema["webhooks"] = webhooks


def install_openapi(
    app: FastAPI, *, service: str | None = None, webhook_event_types: Collection[str] = ()
) -> None:
    """Document every 4xx/5xx response of every operation as an RFC 9457 problem, and, for a
    ``service`` of the platform, who may call each operation; with ``webhook_event_types``,
    the webhooks it sends (``document_webhooks``)."""

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
        validating = _validating_operations(app)
        settings: Settings = app.state.settings
        used_headers: set[str] = set()
        for scheme in schema.get("components", {}).get("securitySchemes", {}).values():
            if scheme.get("scheme") == "bearer":
                scheme["bearerFormat"] = "JWT"
        for path, path_item in schema.get("paths", {}).items():
            for method, operation in path_item.items():
                responses: dict[str, Any] = operation.setdefault("responses", {})
                if method == "post":
                    operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY_PARAMETER)
                    responses.setdefault("409", {})
                if method == "get":
                    # A Consistency-Token that is no token is a 400 (shared.replicas).
                    operation.setdefault("parameters", []).append(_CONSISTENCY_TOKEN_PARAMETER)
                    responses.setdefault("400", {})
                for status in _ALWAYS:
                    responses.setdefault(status, {})
                if (path, method) in validating:
                    responses.setdefault("422", {})
                else:
                    responses.pop("422", None)
                if method.upper() in WRITE_METHODS:
                    # Every write is rate-limited (shared.rate_limit).
                    responses.setdefault("429", {})
                if "requestBody" in operation:
                    # Every body is capped (shared.body_limit).
                    responses.setdefault("413", {"description": _BODY_TOO_LARGE})
                if (path, method) in paged:
                    _document_page_size(operation, settings)
                if _document_if_match(operation, method):
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
                for parameter in operation.get("parameters", ()):
                    if parameter.get("in") in {"query", "path"} and (path, method) in validating:
                        _document_no_nul(parameter.get("schema", {}))
                _document_responses(
                    operation,
                    method,
                    components,
                    used_headers,
                    paged=(path, method) in paged,
                    cached=path not in UNCACHED_PATHS,
                )
                _document_request_body(operation, components)
                if service is not None:
                    _publish_access(operation, service)
        if webhook_event_types:
            document_webhooks(schema, components, webhook_event_types)
        _exact_integer_bounds(schema)
        schema["components"]["headers"] = {
            name: header for name, header in RESPONSE_HEADERS.items() if name in used_headers
        }
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
