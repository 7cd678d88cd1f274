"""Optimistic concurrency for editable resources: ``ETag`` on reads, ``If-Match`` on updates."""

from __future__ import annotations

from typing import Annotated, Protocol, TypeVar

from fastapi import Header, Response

from shared.errors import PreconditionFailed, PreconditionRequired

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The `ETag` of the version you read (`"3"`), or `*` for any version. '
        'Compared strongly (RFC 9110 §13.1.1): a weak tag such as `W/"3"` matches no '
        "version. Required on updates (428 without it); on deletes, checked when sent; "
        "a blank value is a 428, another version a 412.",
    ),
]


def if_match_required(method: str) -> bool:
    """Whether an operation of ``method`` that takes ``If-Match`` requires it: updates do,
    deletes check it only when it is sent (the services call ``check_if_match`` so)."""
    return method.upper() != "DELETE"


def etag(version: int) -> str:
    """The entity tag of a resource at ``version``."""
    return f'"{version}"'


def _entity_tags(header: str) -> set[str]:
    """The tags an ``If-Match`` lists, as sent: a weak tag keeps its ``W/``, so it matches no
    version (If-Match compares strongly: a weak tag does not promise the same bytes, and an
    update based on other bytes than the stored version must not be applied)."""
    return {raw.strip() for raw in header.split(",")}


def check_if_match(
    if_match: str | None, version: int, *, resource: str, required: bool = True
) -> None:
    """412 when ``If-Match`` names another version than ``version``; 428 when it is blank, or
    missing and ``required`` (updates). Deletes pass ``required=False``: checked only when sent."""
    if if_match is None and not required:
        return
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            f"Send If-Match with the ETag of the {resource} you read, to avoid overwriting "
            "someone else's change.",
            current_etag=etag(version),
        )
    tags = _entity_tags(if_match)
    if "*" not in tags and etag(version) not in tags:
        if f"W/{etag(version)}" in tags:
            raise PreconditionFailed(
                f"If-Match names the {resource}'s version as a weak tag, which never matches: "
                f"send the ETag as read, {etag(version)}.",
                current_etag=etag(version),
            )
        raise PreconditionFailed(
            f"The {resource} changed since you read it (now {etag(version)}); read it again "
            "and reapply your change.",
            current_etag=etag(version),
        )


class _Versioned(Protocol):
    version: int


R = TypeVar("R", bound=_Versioned)


def represented(response: Response, read: R) -> R:
    """``read`` as the response body, with its ``ETag`` (and ``Content-Language`` when the
    representation says which language its text is in)."""
    response.headers["ETag"] = etag(read.version)
    language = getattr(read, "language", None)
    if isinstance(language, str):
        response.headers["Content-Language"] = language
    return read
