"""Parsing query parameters that several routers share: code lists and period bounds."""

from __future__ import annotations

from services.profiles_api.observations.fields import FieldProblem, Period
from shared.errors import invalid


def split_values(values: list[str] | None) -> list[str]:
    """Repeated parameters and comma-separated lists both work: `?city=A&city=B`, `?city=A,B`."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse_period_bound(name: str, value: str | None) -> Period | None:
    """The period given in query parameter ``name``, if any; 422 naming it if invalid."""
    if value is None:
        return None
    try:
        return Period.parse(value)
    except FieldProblem as problem:
        raise invalid(name, problem.message, location="query") from problem
