"""Errors as a class hierarchy carrying their HTTP status, rendered as RFC 9457 problems.

Services raise these; one set of handlers (``install_problem_handlers``) renders every error
the app can produce, including FastAPI's validation errors and Starlette's 404/405, as
``application/problem+json``. Problem types are URNs (``urn:mc2cm:problem:<slug>``) so they
stay stable whatever host or root path the API is served under.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.observability import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:mc2cm:problem:"


class FieldError(BaseModel):
    """One invalid input: where it is and what is wrong with it."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(description="Dotted path of the field, e.g. `names.en` or `limit`.")
    location: str = Field(description="`body`, `query`, `path`, `header` or `row`.")
    detail: str
    pointer: str | None = Field(default=None, description="JSON pointer into the body.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:mc2cm:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["No city with code XXABC."])
    instance: str | None = Field(default=None, examples=["/v1/cities/XXABC"])
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    """Base of every error the platform reports to a caller."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extensions = extensions

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extensions)
        return body


class BadRequest(ProblemError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="mc2cm"'})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class NotFound(ProblemError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PreconditionFailed(ProblemError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ValidationFailed(ProblemError):
    status = 422
    slug = "validation-error"
    title = "Invalid input"


class PreconditionRequired(ProblemError):
    status = 428
    slug = "precondition-required"
    title = "Precondition required"


class ServiceUnavailable(ProblemError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


def field_error(field: str, detail: str, *, location: str = "body", **extra: Any) -> dict[str, Any]:
    """A field error in the shape every 422 uses."""
    error: dict[str, Any] = {"field": field, "location": location, "detail": detail}
    if location == "body":
        error["pointer"] = "/" + field.replace(".", "/") if field else ""
    error.update(extra)
    return error


def invalid(field: str, detail: str, *, location: str = "body", **extra: Any) -> ValidationFailed:
    """A 422 naming one field, e.g. ``raise invalid("indicator", "unknown indicator")``."""
    return ValidationFailed(
        f"{field}: {detail}", errors=[field_error(field, detail, location=location, **extra)]
    )


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str | None,
    request: Request,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


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


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return ProblemResponse(
        exc.to_problem(instance=request.url.path), status_code=exc.status, headers=exc.headers
    )


async def _handle_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(sorted({e["field"] or e["location"] for e in errors}))
    return problem_response(
        422,
        slug=ValidationFailed.slug,
        title=ValidationFailed.title,
        detail=f"Invalid input in: {fields}.",
        request=request,
        errors=errors,
    )


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
        ServiceUnavailable,
        ProblemError,
    )
}


def _default_detail(request: Request, status: int, headers: Mapping[str, str] | None) -> str:
    if status == 404:
        return f"Nothing is served at {request.url.path}."
    if status == 405:
        allowed = (headers or {}).get("Allow") or (headers or {}).get("allow")
        return f"{request.method} is not allowed on {request.url.path}" + (
            f"; allowed: {allowed}." if allowed else "."
        )
    return HTTPStatus(status).description or HTTPStatus(status).phrase


async def _handle_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    known = status in HTTPStatus._value2member_map_
    phrase = HTTPStatus(status).phrase if known else "Error"
    platform = _ERROR_OF_STATUS.get(status)
    slug = platform.slug if platform else phrase.lower().replace(" ", "-")
    title = platform.title if platform else phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    if detail is None:
        detail = _default_detail(request, status, exc.headers) if known else phrase
    return problem_response(
        status, slug=slug, title=title, detail=detail, request=request, headers=exc.headers
    )


async def _handle_integrity(request: Request, exc: Exception) -> Response:
    # Services check what they can before writing; a constraint that still fires is a race
    # between two writers, which the caller can resolve by reading again.
    assert isinstance(exc, IntegrityError)
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    log.info("integrity error on %s: %s", request.url.path, exc.orig)
    return problem_response(
        409,
        slug=Conflict.slug,
        title=Conflict.title,
        detail="The change conflicts with existing data"
        + (f" (constraint {constraint})." if constraint else "."),
        request=request,
    )


async def _handle_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable on %s: %s", request.url.path, exc)
    return problem_response(
        503,
        slug=ServiceUnavailable.slug,
        title=ServiceUnavailable.title,
        detail="The database is unavailable; try again shortly.",
        request=request,
        headers={"Retry-After": "5"},
    )


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY)
    return problem_response(
        500,
        slug=ProblemError.slug,
        title=ProblemError.title,
        detail="An unexpected error occurred; it has been logged"
        + (f" with request id {request_id}." if request_id else "."),
        request=request,
        # Starlette sends this response outside the middleware that adds the header.
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )


def _is_connection_error(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, InterfaceError | OperationalError)


async def _handle_dbapi(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if _is_connection_error(exc):
        return await _handle_unavailable(request, exc)
    return await _handle_unexpected(request, exc)


async def _handle_stale(request: Request, exc: Exception) -> Response:
    # A versioned row changed between the caller's read and this write (see Versioned).
    return problem_response(
        412,
        slug=PreconditionFailed.slug,
        title=PreconditionFailed.title,
        detail="The resource was changed by someone else meanwhile; read it again.",
        request=request,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as ``application/problem+json``."""
    app.add_exception_handler(ProblemError, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(StaleDataError, _handle_stale)
    app.add_exception_handler(IntegrityError, _handle_integrity)
    app.add_exception_handler(DBAPIError, _handle_dbapi)
    app.add_exception_handler(OSError, _handle_unavailable)
    app.add_exception_handler(Exception, _handle_unexpected)
