"""Rendering every error an app can produce as an RFC 9457 problem document.

Domain errors (``shared.errors``) carry their status; this module turns the others into
them: FastAPI's validation errors (422 naming each field), Starlette's 404 and 405, stale
versioned writes (412), constraint races (409), and database errors by SQLSTATE class:
malformed values (422), serialisation failures and deadlocks (503, retry), timeouts, and a
server that cannot be reached or dropped the connection (503, ``Retry-After``). Anything else
is a 500 that says nothing of its cause.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.body_limit import BodyTooLarge, body_too_large
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
    render_problem,
)
from shared.observability import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY

log = logging.getLogger(__name__)

#: The platform's error of each status, so that the framework's own errors (unknown route,
#: wrong method) carry the same problem type and title as the services' errors.
_ERROR_OF_STATUS: dict[int, type[ProblemError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        PreconditionRequired,
        TooManyRequests,
        ServiceUnavailable,
        ProblemError,
    )
}
#: A conflict between transactions clears at once; a server that is away takes longer.
RETRY_SOON = {"Retry-After": "1"}
RETRY_LATER = {"Retry-After": "5"}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc else "body"
        path = loc[1:] if loc and loc[0] in {"body", "query", "path", "header", "cookie"} else loc
        # A body that is not JSON has no field at fault: its loc holds the error's offset.
        field = "" if error.get("type") == "json_invalid" else ".".join(path)
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid" and (
            reason := (error.get("ctx") or {}).get("error")
        ):
            message = f"{message}: {reason} at offset {path[0] if path else 0}"
        errors.append(
            field_error(field, message, location=location)
            | {"type": error.get("type", "value_error")}
        )
    return errors


def _default_detail(request: Request, status: int, headers: Mapping[str, str] | None) -> str:
    if status == 404:
        return f"Nothing is served at {request.url.path}."
    if status == 405:
        allowed = (headers or {}).get("Allow") or (headers or {}).get("allow")
        return f"{request.method} is not allowed on {request.url.path}" + (
            f"; allowed: {allowed}." if allowed else "."
        )
    return HTTPStatus(status).description or HTTPStatus(status).phrase


def _causes(exc: BaseException) -> list[BaseException]:
    """The error and those it wraps (SQLAlchemy's ``orig``, ``raise ... from``); not the
    errors it was merely raised while handling, which say nothing of its cause."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < 10:
        candidate = pending.pop(0)
        if candidate is None or any(candidate is known for known in seen):
            continue
        seen.append(candidate)
        pending += [getattr(candidate, "orig", None), candidate.__cause__]
    return seen


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, whichever layer wrapped it."""
    for candidate in _causes(exc):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return None


#: SQLSTATE classes of a server that cannot take the request now: connection exceptions
#: (08, asyncpg's lost connection too), insufficient resources (53, too many connections)
#: and operator intervention (57P, shutting down or starting up).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL could not be reached, dropped the connection or had
    none to give.

    Such an error is the platform's fault of the moment, not the request's: the same request
    succeeds once the server is back. A misuse of the driver (a wrong parameter type, a closed
    cursor) is a defect and is not one of them, even though asyncpg calls both "interface"
    errors.
    """
    if (_sqlstate(exc) or "").startswith(_UNAVAILABLE_SQLSTATES):
        return True
    for error in _causes(exc):
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        # Refused, reset, unreachable, asyncpg's connect timeout (TimeoutError is an
        # OSError), or no connection of the pool free in time (SQLAlchemy's TimeoutError).
        if isinstance(error, OSError | PoolTimeout):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
            return True
    return False


def database_problem(exc: BaseException) -> ProblemError | None:
    """The caller's view of a database error, by SQLSTATE; ``None`` for a server-side defect."""
    code = _sqlstate(exc) or ""
    if code.startswith("22"):
        return ValidationFailed(
            "A value cannot be stored: it is malformed or out of range for its field."
        )
    if code.startswith("23"):
        return Conflict("The change conflicts with existing data; read it again and retry.")
    if code in {"40001", "40P01"}:
        return ServiceUnavailable(
            "The change collided with a concurrent one; retry it.", headers=RETRY_SOON
        )
    if code == "57014":
        return ServiceUnavailable("The database took too long; retry later.", headers=RETRY_SOON)
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable(
            "Every database connection is busy; try again shortly.", headers=RETRY_LATER
        )
    if isinstance(exc, OSError):
        # A socket error while reaching PostgreSQL or Redis (refused, reset, socket missing).
        return ServiceUnavailable(
            "A server the platform depends on is unreachable; try again shortly.",
            headers=RETRY_LATER,
        )
    if database_unavailable(exc):
        return ServiceUnavailable(
            "The database is unavailable; try again shortly.", headers=RETRY_LATER
        )
    return None


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return render_problem(exc, instance=request.url.path)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(sorted({e["field"] or e["location"] for e in errors}))
    problem = ValidationFailed(f"Invalid input in: {fields}.", errors=errors)
    return render_problem(problem, instance=request.url.path)


def _undecodable_body(exc: StarletteHTTPException) -> ValidationFailed | None:
    """FastAPI answers a 400 when a JSON body is not UTF-8 text; it is invalid input like
    any other malformed JSON, so a 422 about the whole body."""
    cause = exc.__cause__
    if exc.status_code != 400 or not isinstance(cause, UnicodeDecodeError):
        return None
    detail = f"JSON decode error: the body is not UTF-8 text (byte {cause.start})"
    return ValidationFailed(
        "Invalid input in: body.",
        errors=[field_error("", detail, location="body") | {"type": "json_invalid"}],
    )


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (undecodable := _undecodable_body(exc)) is not None:
        return render_problem(undecodable, instance=request.url.path)
    status = exc.status_code
    if isinstance(exc, BodyTooLarge):
        return render_problem(body_too_large(exc.limit), instance=request.url.path)
    known = status in HTTPStatus._value2member_map_
    phrase = HTTPStatus(status).phrase if known else "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if detail is None:
        detail = _default_detail(request, status, exc.headers) if known else phrase
    platform = _ERROR_OF_STATUS.get(status)
    problem = (
        platform(detail, headers=exc.headers)
        if platform is not None
        else ProblemError.of_status(status, phrase, detail, headers=exc.headers)
    )
    return render_problem(problem, instance=request.url.path)


async def _handle_stale(request: Request, exc: Exception) -> Response:
    # A versioned row changed between the caller's read and this write (see Versioned).
    problem = PreconditionFailed(
        "The resource was changed by someone else meanwhile; read it again."
    )
    return render_problem(problem, instance=request.url.path)


async def _handle_database(request: Request, exc: Exception) -> Response:
    problem = database_problem(exc)
    if problem is None:
        return await _handle_unexpected(request, exc)
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return render_problem(problem, instance=request.url.path)


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY)
    problem = ProblemError(
        "An unexpected error occurred; it has been logged"
        + (f" with request id {request_id}." if request_id else "."),
        # Starlette sends this response outside the middleware that adds the header.
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )
    return render_problem(problem, instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as ``application/problem+json``."""
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(StaleDataError, _handle_stale)
    app.add_exception_handler(IntegrityError, _handle_database)
    app.add_exception_handler(DBAPIError, _handle_database)
    app.add_exception_handler(asyncpg.PostgresError, _handle_database)
    app.add_exception_handler(asyncpg.InterfaceError, _handle_database)
    app.add_exception_handler(PoolTimeout, _handle_database)
    app.add_exception_handler(OSError, _handle_database)
    app.add_exception_handler(Exception, _handle_unexpected)
