"""An example of a JSON document built from its JSON schema, for the OpenAPI documents.

Every request body gets one (``shared.openapi``): the fields' own ``examples`` where the models
give them, the first value of an enum, the first alternative that is not ``null``, and for the
rest the smallest value the schema accepts. Optional fields appear when they have an example of
their own; required ones always. ``tests/shared/test_openapi.py`` checks each example against
its schema.
"""

from __future__ import annotations

import re
from typing import Any

#: Strings tried, in order, for a string field with a pattern and no example of its own.
_CANDIDATE_STRINGS = (
    "example",
    "Example",
    "en",
    "PTLIS",
    "PT",
    "a",
    "A",
    "x1",
    "1",
    "2026",
    "2026-05-01",
)
_FORMATS = {
    "date": "2026-05-01",
    "date-time": "2026-05-01T09:00:00Z",
    "time": "09:00:00",
    "email": "focal.point@example.org",
    "uri": "https://example.org/",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
}
_MAX_DEPTH = 12


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved = schemas.get(ref.rsplit("/", 1)[-1], {})
        return {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _string(schema: dict[str, Any]) -> str | None:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 10_000))
    pattern = schema.get("pattern")
    for candidate in _CANDIDATE_STRINGS:
        text = candidate * max(1, -(-low // len(candidate)))
        if low <= len(text) <= high and (pattern is None or re.search(pattern, text)):
            return text
    return None


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """An instance of ``schema`` (``$ref``s into ``schemas``); ``None`` when none is found."""
    if depth > _MAX_DEPTH:
        return None
    schema = _resolve(schema, schemas)
    for key in ("examples", "example"):
        if key in schema:
            value = schema[key]
            if key == "examples" and isinstance(value, list):
                if value:
                    return value[0]
            elif key == "example":
                return value
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "properties" in schema and ("anyOf" in schema or "oneOf" in schema):
        # An object whose alternatives narrow its own fields (one of two fields required):
        # the object with the first alternative that gives an example.
        for key in ("oneOf", "anyOf"):
            for alternative in schema.get(key, ()):
                found = example_of(
                    _narrowed(schema, _resolve(alternative, schemas)), schemas, depth + 1
                )
                if found is not None:
                    return found
        return None
    for key in ("anyOf", "oneOf"):
        for alternative in schema.get(key, ()):
            resolved = _resolve(alternative, schemas)
            if resolved.get("type") == "null":
                continue
            found = example_of(resolved, schemas, depth + 1)
            if found is not None:
                return found
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged |= _resolve(part, schemas)
        return example_of(merged, schemas, depth + 1)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object(schema, schemas, depth)
    if kind == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        if item is None:
            return [] if not schema.get("minItems") else None
        count = max(1, int(schema.get("minItems", 1)))
        if schema.get("uniqueItems") and count > 1:
            return None
        return [item] * count
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return float(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
    if kind == "boolean":
        return True
    return None


def _narrowed(schema: dict[str, Any], alternative: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an object) with the fields ``alternative`` requires and constrains."""
    narrowed = {key: value for key, value in schema.items() if key not in ("anyOf", "oneOf")}
    properties = dict(schema.get("properties", {}))
    for name, member in alternative.get("properties", {}).items():
        properties[name] = {**properties.get(name, {}), **member}
    narrowed["properties"] = properties
    narrowed["required"] = [*schema.get("required", ()), *alternative.get("required", ())]
    return narrowed


def _object(schema: dict[str, Any], schemas: dict[str, Any], depth: int) -> Any:
    required = set(schema.get("required", ()))
    document: dict[str, Any] = {}
    for name, member in schema.get("properties", {}).items():
        resolved = _resolve(member, schemas)
        if name not in required and not ("examples" in resolved or "example" in resolved):
            continue
        value = example_of(resolved, schemas, depth + 1)
        if value is None and name in required:
            return None
        if value is not None:
            document[name] = value
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        # A map (e.g. a language map): its required keys, each with a value of its own kind.
        for name in required - document.keys():
            value = example_of(additional, schemas, depth + 1)
            if value is None:
                return None
            document[name] = value
    return document
