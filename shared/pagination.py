"""Keyset pagination with opaque cursors.

A cursor is the sort key of the last row of a page and the name of the list that made it
(service and operation id), serialised and base64-encoded. Callers pass it back unchanged as
``?cursor=`` to the same list; it is not meant to be read or built by hand, and another list
refuses it (422 naming ``cursor``) even where the sort keys have the same shape (ids). Lists
never use ``OFFSET``: the next page is ``WHERE (sort key) > (cursor)`` over an index.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeAlias, TypeVar
from urllib.parse import quote, urlencode

import orjson
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.orm import QueryableAttribute

from shared.errors import invalid

T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``?cursor=`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )


#: A cursor is base64url without padding (empty: the first page).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: list[Any] | None
    #: The list the page belongs to (``profiles:list_cities``): its cursors carry it.
    list_name: str | None = None
    #: The request's path (under the root path) and query, to link the next page to
    #: (RFC 8288 ``Link: <…>; rel="next"``); ``None`` for pages read outside a request.
    link_target: tuple[str, tuple[tuple[str, str], ...]] | None = field(default=None, compare=False)
    #: The response whose headers a ``build_page`` page is sent with.
    response: Response | None = field(default=None, compare=False, repr=False)

    def next_link(self, next_cursor: str | None) -> str | None:
        """The ``Link`` header naming the next page: the request's URL with its cursor
        replaced, or ``None`` on the last page."""
        if next_cursor is None or self.link_target is None:
            return None
        path, query = self.link_target
        kept = [(name, value) for name, value in query if name != "cursor"]
        query_string = urlencode([*kept, ("cursor", next_cursor)])
        return f'<{quote(path)}?{query_string}>; rel="next"'


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"$d": value.isoformat(), "$t": "dt" if isinstance(value, datetime) else "d"}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "$d" in value:
        raw = value["$d"]
        if not isinstance(raw, str):
            raise ValueError("not a date")
        return datetime.fromisoformat(raw) if value.get("$t") == "dt" else date.fromisoformat(raw)
    return value


def encode_cursor(key: Sequence[Any], list_name: str | None = None) -> str:
    """The cursor that continues list ``list_name`` after the row of sort key ``key``."""
    payload = orjson.dumps({"list": list_name, "key": [_encode_value(v) for v in key]})
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, list_name: str | None = None) -> list[Any]:
    """The sort key inside a cursor of list ``list_name``; a 422 naming ``cursor`` if it was
    not one of ours or another list made it."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, dict) or payload.get("list") != list_name:
            raise ValueError("not a cursor of this list")
        key = payload.get("key")
        if not isinstance(key, list) or not key:
            raise ValueError("not a key")
        return [_decode_value(v) for v in key]
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise invalid("cursor", "not a cursor returned by this list", location="query") from exc


def list_name_of(request: Request) -> str | None:
    """The name of the list ``request`` reads: the service and the route's operation id."""
    route = request.scope.get("route")
    operation = getattr(route, "name", None)
    if operation is None:
        return None
    service = getattr(request.app.state, "service", None)
    return f"{service}:{operation}" if service else str(operation)


async def page_params(
    request: Request,
    response: Response,
    limit: Annotated[
        int | None, Query(ge=1, description="Items per page (capped by the server).")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="Opaque: the `next_cursor` of the previous page of this same list, "
            "passed back unchanged. Anything else (a cursor of another list, or one edited "
            "by hand) is refused with 422 naming `cursor`.",
        ),
    ] = None,
) -> PageParams:
    """FastAPI dependency: the page size (default and cap from settings) and decoded cursor.

    ``async`` although it never waits: FastAPI runs a plain ``def`` dependency in a worker
    thread, a hop that costs more than the work."""
    settings = request.app.state.settings
    size = limit if limit is not None else settings.pagination_default_limit
    if size > settings.pagination_max_limit:
        raise invalid("limit", f"must be at most {settings.pagination_max_limit}", location="query")
    name = list_name_of(request)
    # The path the caller reached, under MC2CM_ROOT_PATH (shared.root_path).
    root = str(request.scope.get("root_path", "")).rstrip("/")
    path = request.url.path
    if root and not path.startswith(root + "/"):
        path = root + path
    return PageParams(
        limit=size,
        cursor=decode_cursor(cursor, name) if cursor else None,
        list_name=name,
        link_target=(path, tuple(request.query_params.multi_items())),
        response=response,
    )


PageDep = Annotated[PageParams, Depends(page_params)]


SortColumn: TypeAlias = ColumnElement[Any] | QueryableAttribute[Any]
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def keyset(statement: S, params: PageParams, *sort_key: SortColumn, descending: bool = False) -> S:
    """Order by ``sort_key`` (ascending, or descending for newest-first lists), start after
    the cursor, fetch one row more than a page.

    The cursor's values and the limit are bound parameters named as ``keyset_parameters``
    names them, so that a statement built once can run again for another page."""
    values = keyset_parameters(params, *sort_key)
    if params.cursor is not None:
        after = tuple_(
            *(
                bindparam(f"cursor_{index}", values[f"cursor_{index}"], type_=column.type)
                for index, column in enumerate(sort_key)
            )
        )
        key = tuple_(*sort_key)
        statement = statement.where(key < after if descending else key > after)
    order = [column.desc() for column in sort_key] if descending else list(sort_key)
    return statement.order_by(*order).limit(bindparam("page_limit", values["page_limit"]))


def keyset_parameters(params: PageParams, *sort_key: SortColumn) -> dict[str, Any]:
    """The values of ``keyset``'s bound parameters for ``params``; a 422 naming ``cursor`` if
    the cursor does not fit ``sort_key``."""
    values: dict[str, Any] = {"page_limit": params.limit + 1}
    if params.cursor is not None:
        if len(params.cursor) != len(sort_key) or not all(
            _fits(value, column) for value, column in zip(params.cursor, sort_key, strict=True)
        ):
            raise invalid("cursor", "not a cursor returned by this list", location="query")
        values |= {f"cursor_{index}": value for index, value in enumerate(params.cursor)}
    return values


#: PostgreSQL's bigint range: a cursor value outside it would fail in the database, not here.
_BIGINT = range(-(2**63), 2**63)


def _fits(value: Any, column: SortColumn) -> bool:
    """Whether a decoded cursor value can be compared with ``column`` in PostgreSQL."""
    try:
        expected = column.type.python_type
    except (AttributeError, NotImplementedError):
        return True
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and value in _BIGINT
    if expected is str:
        return isinstance(value, str) and "\x00" not in value
    if expected is date:
        # A datetime is a date to Python, not to PostgreSQL.
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(value, expected)


def build_page(
    rows: Sequence[R],
    params: PageParams,
    *,
    key: Callable[[R], Sequence[Any]],
    item: Callable[[R], T],
) -> Page[T]:
    """A page from rows fetched by ``keyset``: the extra row, if any, means there is a next page."""
    has_more = len(rows) > params.limit
    shown = rows[: params.limit]
    next_cursor = encode_cursor(key(shown[-1]), params.list_name) if has_more and shown else None
    link = params.next_link(next_cursor)
    if link is not None and params.response is not None:
        params.response.headers["Link"] = link
    return Page[T](items=[item(row) for row in shown], next_cursor=next_cursor)


def page_response(
    rows: Sequence[R],
    params: PageParams,
    *,
    key: Callable[[R], Sequence[Any]],
    item: Callable[[R], Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """``build_page``'s page as a JSON response, its items already JSON-ready (dicts of
    str, numbers, dates and UTC datetimes), serialised by orjson in one pass.

    The body is the one ``build_page`` with the route's ``response_model`` gives (the model
    stays declared for the OpenAPI document); long lists skip a model per item.
    """
    has_more = len(rows) > params.limit
    shown = rows[: params.limit]
    next_cursor = encode_cursor(key(shown[-1]), params.list_name) if has_more and shown else None
    body = {"items": [item(row) for row in shown], "next_cursor": next_cursor}
    link = params.next_link(next_cursor)
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        media_type="application/json",
        headers={**(headers or {}), "Link": link} if link is not None else headers,
    )
