"""The vocabulary of an observation's key and value: periods, scopes, breakdowns, statuses.

One set of rules for every way figures arrive (JSON batches, CSV imports, the demo seed).
"""

from __future__ import annotations

import calendar
import enum
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.profiles_api.observations.plausibility import Bounds

#: The shape of a period as documented: years 1800 to 2200 (``Period.parse`` refuses others),
#: months 01-12, days 01-31 (the day's existence in its month is checked by ``Period.parse``).
PERIOD_PATTERN = (
    r"^(1[89]\d{2}|2[01]\d{2}|2200)(-Q[1-4]|-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"
)
_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(\d{2})(?:-(\d{2}))?)?$")
SCOPE_PATTERN = r"^(municipality|metro|governorate|region|country|district:[A-Za-z0-9_-]{1,48})$"
_SCOPE = re.compile(SCOPE_PATTERN)
_DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DIMENSION_VALUE = re.compile(r"^[A-Za-z0-9_.+<>-]{1,64}$")
MAX_KEY_LENGTH = 255
_PART = r"[a-z][a-z0-9_]{0,31}\s*=\s*[A-Za-z0-9_.+<>-]{1,64}"
#: A breakdown as text, ``sex=F;age_group=15-64`` (spaces and empty parts tolerated); empty:
#: the total.
DISAGGREGATION_PATTERN = rf"^[\s;]*({_PART}([\s;]*;[\s;]*{_PART})*)?[\s;]*$"
MAX_NOTE_LENGTH = 2000


class ObsStatus(enum.StrEnum):
    """SDMX observation status (code list CL_OBS_STATUS)."""

    A = "A"  # normal value
    B = "B"  # break in series
    D = "D"  # definition differs
    E = "E"  # estimated value
    F = "F"  # forecast value
    I = "I"  # imputed value  # noqa: E741
    M = "M"  # missing value
    P = "P"  # provisional value
    U = "U"  # low reliability


class ValueStatus(enum.StrEnum):
    """Whether a figure's value is shown to the caller or hidden as a small number."""

    shown = "shown"
    suppressed = "suppressed"


@dataclass(frozen=True)
class ShownValue:
    """A figure's value, range and status as one caller reads them: what a read renders."""

    value: float | None = None
    value_low: float | None = None
    value_high: float | None = None
    status: ValueStatus = ValueStatus.shown


#: What a caller reads of a figure hidden from them as a small number: no value, no range.
SUPPRESSED_VALUE = ShownValue(status=ValueStatus.suppressed)
#: What is read where there is no figure (a compared city without a value).
NO_VALUE = ShownValue()


#: Statuses whose value is an estimate rather than a count (comparisons warn about them).
ESTIMATED_STATUSES = frozenset({ObsStatus.E, ObsStatus.F, ObsStatus.I, ObsStatus.U})


class FieldProblem(ValueError):
    """A value that cannot be accepted, with the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    """An ISO 8601 period (a year, quarter, month or day) and the dates it covers."""

    text: str
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if match is None:
            raise FieldProblem(
                "period", f"{text!r} is not a period like 2017, 2017-Q3, 2017-07 or 2017-07-01"
            )
        year_text, quarter, month_text, day_text = match.groups()
        year = int(year_text)
        if not 1800 <= year <= 2200:
            raise FieldProblem("period", f"year {year} is out of range")
        if quarter:
            first_month = (int(quarter) - 1) * 3 + 1
            last_month = first_month + 2
            return cls(
                text,
                date(year, first_month, 1),
                date(year, last_month, calendar.monthrange(year, last_month)[1]),
            )
        if month_text is None:
            return cls(text, date(year, 1, 1), date(year, 12, 31))
        month = int(month_text)
        if not 1 <= month <= 12:
            raise FieldProblem("period", f"{text!r} has no month {month}")
        if day_text is None:
            return cls(
                text, date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
            )
        try:
            day = date(year, month, int(day_text))
        except ValueError as exc:
            raise FieldProblem("period", f"{text!r} is not a date: {exc}") from exc
        return cls(text, day, day)


def check_scope(scope: str) -> str:
    if not _SCOPE.match(scope):
        raise FieldProblem(
            "scope",
            f"{scope!r} is not a scope: use municipality, metro, governorate, region, country "
            "or district:<code>",
        )
    return scope


def parse_dimension_text(text: str) -> dict[str, str]:
    """``"sex=F;age_group=15-64"`` as a mapping; empty text is the total."""
    dimensions: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = part.partition("=")
        if not sep:
            raise FieldProblem("dimensions", f"{part!r} is not name=value")
        name, value = name.strip(), value.strip()
        if name in dimensions:
            raise FieldProblem("dimensions", f"dimension {name!r} is given twice")
        dimensions[name] = value
    return dimensions


def dimension_text(dimensions: dict[str, str]) -> str:
    """A breakdown as its normalised key, names sorted: ``age_group=15-64;sex=F``; the
    total's is empty. Stored as an observation's ``disaggregation``, written in exports."""
    return ";".join(f"{name}={dimensions[name]}" for name in sorted(dimensions))


def disaggregation_key(dimensions: dict[str, str], allowed: list[str]) -> str:
    """The normalised key of a breakdown (names sorted), checked against the allowed names."""
    for name, value in dimensions.items():
        if not _DIMENSION_NAME.match(name):
            raise FieldProblem("dimensions", f"{name!r} is not a dimension name")
        if name not in allowed:
            allowed_text = ", ".join(allowed) if allowed else "none"
            raise FieldProblem(
                "dimensions",
                f"the indicator is not broken down by {name!r} (allowed: {allowed_text})",
            )
        if not _DIMENSION_VALUE.match(value):
            raise FieldProblem("dimensions", f"{value!r} is not a value code for {name!r}")
    key = dimension_text(dimensions)
    if len(key) > MAX_KEY_LENGTH:
        raise FieldProblem("dimensions", "the breakdown is too long")
    return key


def check_values(
    value: float | None,
    low: float | None,
    high: float | None,
    status: ObsStatus,
    *,
    bounds: Bounds,
) -> None:
    """A value is present unless missing (M), finite, within its unit's plausible
    ``bounds``, and inside its range when one is given."""
    for field, number in (("value", value), ("value_low", low), ("value_high", high)):
        if number is None:
            continue
        if not math.isfinite(number):
            raise FieldProblem(field, "must be a finite number")
        bounds.check(field, number)
    if value is None and status is not ObsStatus.M:
        raise FieldProblem("value", "is required unless obs_status is M (missing)")
    if value is not None and status is ObsStatus.M:
        raise FieldProblem("obs_status", "M (missing) cannot have a value")
    if low is not None and high is not None and low > high:
        raise FieldProblem("value_low", "is above value_high")
    if value is not None and low is not None and value < low:
        raise FieldProblem("value", "is below value_low")
    if value is not None and high is not None and value > high:
        raise FieldProblem("value", "is above value_high")
