"""What the fuzz sends beyond schemathesis' own strategies.

Lone surrogates: JSON may escape any UTF-16 code unit (``"\\ud800"``), Python reads it into a
``str`` that no UTF-8 encoder accepts, and every text of a body goes to PostgreSQL as UTF-8.
Schemathesis generates characters, never a lone surrogate, so each JSON body is also sent with
one in one of its strings, or in every value of its language maps (``{"en": "\\ud800"}``, the
values a JSON column stores as they are).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

LONE_SURROGATE = "\ud800"

Path = tuple[str | int, ...]


def _string_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, member in value.items():
            yield from _string_paths(member, (*path, key))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from _string_paths(member, (*path, index))


def _with_surrogate_at(value: Any, path: Path) -> Any:
    if not path:
        return f"{value}{LONE_SURROGATE}" if isinstance(value, str) else value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: _with_surrogate_at(v, rest) if k == head else v for k, v in value.items()}
    if isinstance(value, list):
        return [_with_surrogate_at(v, rest) if i == head else v for i, v in enumerate(value)]
    return value


def _is_language_map(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "en" in value
        and all(isinstance(text, str) for text in value.values())
    )


def _with_surrogate_in_language_maps(value: Any) -> Any:
    if _is_language_map(value):
        return {tag: f"{text}{LONE_SURROGATE}" for tag, text in value.items()}
    if isinstance(value, dict):
        return {k: _with_surrogate_in_language_maps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_surrogate_in_language_maps(v) for v in value]
    return value


def with_lone_surrogates(body: Any) -> st.SearchStrategy[Any]:
    """``body`` as generated, or with a lone surrogate in one of its strings, or in every
    value of its language maps. Only JSON objects and arrays: a text body (a CSV upload) goes
    out as UTF-8 bytes, which cannot hold one."""
    if not isinstance(body, dict | list):
        return st.just(body)
    paths = list(_string_paths(body))
    if not paths:
        return st.just(body)
    variants = [
        st.just(body),
        st.sampled_from(paths).map(lambda path: _with_surrogate_at(body, path)),
    ]
    in_maps = _with_surrogate_in_language_maps(body)
    if in_maps != body:
        variants.append(st.just(in_maps))
    return st.one_of(variants)
