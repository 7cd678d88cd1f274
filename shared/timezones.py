"""IANA timezone names, validated against the system's tz database."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field

_TIMEZONES = frozenset(available_timezones())


def _known_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError(f"{value!r} is not an IANA timezone such as 'Europe/Lisbon'")
    return value


Timezone = Annotated[str, AfterValidator(_known_timezone), Field(examples=["Europe/Lisbon"])]
