"""The indicator catalogue: what can be measured, in which unit, broken down how."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.db import events
from services.profiles_api.indicators.formula import formula_inputs
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.indicators.schemas import IndicatorCreate, IndicatorUpdate, Unit
from shared.auth import Principal
from shared.concurrency import check_if_match
from shared.contracts.events import (
    INDICATOR_AGGREGATION_FIELDS,
    INDICATOR_REF_FIELDS,
    IndicatorChanged,
)
from shared.contracts.indicators import IndicatorRef
from shared.contracts.themes import Theme
from shared.errors import Conflict, NotFound, invalid
from shared.pagination import PageParams

#: What a stored value means; fixed once observations exist.
_MEANING_FIELDS = ("unit", "value_type")
#: What is announced (``indicator.changed``) when it changes: what other services keep of an
#: indicator (names, unit), and what the worker's derived values, aggregates and coverage
#: matrix depend on.
_ANNOUNCED_FIELDS = (*INDICATOR_REF_FIELDS, *INDICATOR_AGGREGATION_FIELDS)


def _announcement(indicator: Indicator, **change: Any) -> IndicatorChanged:
    """The ``indicator.changed`` event of ``indicator`` as it is now."""
    return IndicatorChanged(
        code=indicator.code, names=indicator.names, unit=indicator.unit, **change
    )


async def indicator_refs(session: AsyncSession) -> list[tuple[IndicatorRef, datetime]]:
    """Every indicator as the contract other services keep, with when it last changed (for a
    full resynchronisation of their read models)."""
    catalogue = await IndicatorRepository.from_session(session).all()
    return [
        (IndicatorRef(code=i.code, names=i.names, unit=i.unit), i.updated_at)
        for i in sorted(catalogue.values(), key=lambda i: i.code)
    ]


async def list_indicators(
    session: AsyncSession,
    page: PageParams,
    *,
    theme: Theme | None = None,
    unit: Unit | None = None,
) -> Sequence[Indicator]:
    """A page of the catalogue, by code, optionally of one theme or unit."""
    return await IndicatorRepository.from_session(session).search(page, theme=theme, unit=unit)


async def get_indicator(
    session: AsyncSession, code: str, *, for_redefinition: bool = False
) -> Indicator:
    """The indicator with ``code``, or 404. ``for_redefinition`` holds it until the
    transaction ends, so no observation is written against it while its change is checked
    (batches hold the catalogue FOR SHARE while they validate and write)."""
    repository = IndicatorRepository.from_session(session)
    indicator = await (
        repository.get_for_redefinition(code) if for_redefinition else repository.get(code)
    )
    if indicator is None:
        raise NotFound(f"No indicator with code {code!r}.", code=code)
    return indicator


def _path_back_to(code: str, inputs: list[str], catalogue: dict[str, Indicator]) -> list[str]:
    """A chain of formulas from ``inputs`` that reads ``code`` again; empty if there is none."""
    seen: set[str] = set()

    def walk(name: str) -> list[str]:
        if name == code:
            return [name]
        if name in seen:
            return []
        seen.add(name)
        indicator = catalogue.get(name)
        for read in formula_inputs(indicator.formula) if indicator and indicator.formula else []:
            if path := walk(read):
                return [name, *path]
        return []

    for name in inputs:
        if path := walk(name):
            return path
    return []


async def _check_formula(session: AsyncSession, code: str, formula: str | None) -> None:
    if formula is None:
        return
    inputs = formula_inputs(formula)
    if code in inputs:
        raise invalid("formula", "a derived indicator cannot read itself")
    catalogue = await IndicatorRepository.from_session(session).all()
    if missing := [name for name in inputs if name not in catalogue]:
        raise invalid("formula", f"unknown indicator(s): {', '.join(missing)}")
    # Derived values are computed from their inputs: a loop through other formulas never ends.
    if cycle := _path_back_to(code, inputs, catalogue):
        raise invalid("formula", f"it would read itself through {' -> '.join([code, *cycle])}")


async def create_indicator(
    session: AsyncSession, principal: Principal, payload: IndicatorCreate
) -> Indicator:
    """Add an indicator to the catalogue."""
    repository = IndicatorRepository.from_session(session)
    if await repository.get(payload.code) is not None:
        raise Conflict(f"Indicator {payload.code!r} already exists.", code=payload.code)
    await _check_formula(session, payload.code, payload.formula)
    indicator = Indicator(**payload.model_dump(mode="json"))
    await repository.add(indicator)
    await session.refresh(indicator)
    await events.add(
        session,
        _announcement(indicator, created=True, changed_fields=list(_ANNOUNCED_FIELDS)),
        actor=principal.subject,
    )
    return indicator


async def update_indicator(
    session: AsyncSession,
    principal: Principal,
    code: str,
    payload: IndicatorUpdate,
    *,
    if_match: str | None,
) -> Indicator:
    """Change an indicator's definition."""
    indicator = await get_indicator(session, code, for_redefinition=True)
    check_if_match(if_match, indicator.version, resource="indicator")
    # Columns hold the enums' values (`persons`), not the enums.
    changes = {
        field: value.value if isinstance(value, enum.Enum) else value
        for field, value in payload.changes().items()
    }
    repository = IndicatorRepository.from_session(session)
    if "formula" in changes:
        await _check_formula(session, code, changes["formula"])
    redefined = sorted(
        field
        for field in _MEANING_FIELDS
        if field in changes and changes[field] != getattr(indicator, field)
    )
    if redefined and await repository.has_observations(code):
        # Stored values were recorded in the old unit: relabelling them would change their
        # meaning silently. A new indicator code is the honest way to change a definition.
        raise Conflict(
            f"Indicator {code!r} has observations; its {', '.join(redefined)} cannot change. "
            "Create a new indicator instead.",
            code=code,
            fields=redefined,
        )
    if "dimensions" in changes:
        # Breakdowns already recorded must stay allowed, or their figures could not be
        # read back, re-imported or corrected.
        dropped = set(indicator.dimensions) - set(changes["dimensions"])
        if in_use := await repository.dimensions_in_use(code, dropped):
            raise Conflict(
                f"Observations of {code!r} are broken down by {', '.join(in_use)}; "
                "keep these dimensions.",
                code=code,
                dimensions=in_use,
            )
    announced = [
        field
        for field in _ANNOUNCED_FIELDS
        if field in changes and changes[field] != getattr(indicator, field)
    ]
    for field, value in changes.items():
        setattr(indicator, field, value)
    if await repository.save_changes(indicator, resource="indicator") and announced:
        await events.add(
            session,
            _announcement(indicator, changed_fields=announced),
            actor=principal.subject,
        )
    return indicator


async def delete_indicator(
    session: AsyncSession, principal: Principal, code: str, *, if_match: str | None
) -> None:
    """Remove an indicator no observation and no formula uses."""
    indicator = await get_indicator(session, code, for_redefinition=True)
    check_if_match(if_match, indicator.version, resource="indicator", required=False)
    repository = IndicatorRepository.from_session(session)
    if await repository.has_observations(code):
        raise Conflict(f"Indicator {code!r} has observations; it cannot be removed.", code=code)
    if derived := await repository.used_in_formulas(code):
        raise Conflict(
            f"Indicator {code!r} is read by {', '.join(derived)}.", code=code, derived=derived
        )
    removal = _announcement(indicator, removed=True)
    await repository.delete(indicator)
    await events.add(session, removal, actor=principal.subject)
