"""Errors as a class hierarchy carrying their HTTP status, rendered as RFC 9457 problems.

Services raise these; ``shared.problem_handlers`` renders every error an app can produce
(the framework's own and the database's too) as ``application/problem+json``. Problem types
are URNs (``urn:mc2cm:problem:<slug>``) so they stay stable whatever host or root path the
API is served under.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

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

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    @classmethod
    def of_status(cls, status: int, title: str, detail: str, **kwargs: Any) -> ProblemError:
        """An error of a status the hierarchy has no class for (e.g. 405 from the router)."""
        error = cls(detail, **kwargs)
        error.status, error.title, error.slug = status, title, title.lower().replace(" ", "-")
        return error

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


class TooManyRequests(ProblemError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


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


def render_problem(error: ProblemError, *, instance: str) -> ProblemResponse:
    """The response of an error: its problem document, status and headers."""
    return ProblemResponse(
        error.to_problem(instance=instance), status_code=error.status, headers=error.headers
    )
