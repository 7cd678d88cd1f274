"""Path and query parameters that several APIs share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema

from shared.contracts.cities import CITY_CODE_PATTERN

#: A city code in a URL path, e.g. ``/v1/cities/{code}``.
CityCodePath = Annotated[str, Path(pattern=CITY_CODE_PATTERN, examples=["PTLIS"])]

#: What Pydantic would read as a Unix timestamp rather than a date: a bare number.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _not_a_number(value: Any) -> Any:
    """Refuse a bare number where a date or time is expected.

    Pydantic reads ``0.5`` or ``1700000000`` as seconds since 1970 (lax mode); a query string
    that says ``?until=0.5`` is far more likely a mistake than a timestamp, and the documents
    say ISO 8601. Query values always arrive as text, so only text is looked at."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError(
            "must be an ISO 8601 date or date-time such as 2026-05-01T09:00:00Z, not a number"
        )
    return value


#: An instant in a query string, ISO 8601 with an offset (``2026-05-01T09:00:00Z``).
AwareDateTimeQuery = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]

#: An instant or a day in a query string (``2026-05-01`` or ``2026-05-01T09:00:00+02:00``);
#: without an offset the route says which zone it means.
DateOrDateTimeQuery = Annotated[
    datetime,
    BeforeValidator(_not_a_number),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ]
        }
    ),
]

#: A day in a query string, ISO 8601 (``2026-05-01``).
DateQuery = Annotated[date, BeforeValidator(_not_a_number)]
