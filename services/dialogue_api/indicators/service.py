"""The dialogue's read model of profiles' indicator catalogue, and the check evidence makes
of it.

Profiles owns the catalogue. Its ``indicator.changed`` events reach this model through the
worker (``tasks.py``); the nightly resync reads the catalogue from the profiles API, and
``mc2cm dev`` / ``mc2cm seed`` fill it from the demo data. A write here never calls profiles.
Applying is idempotent and ignores changes older than what is stored, so redelivered or
reordered events leave the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.indicators.models import IndicatorRef as IndicatorRefRow
from services.dialogue_api.indicators.repository import IndicatorRefRepository
from shared.contracts.indicators import IndicatorRef
from shared.errors import ValidationFailed, field_error


async def apply_indicator_changed(
    session: AsyncSession, indicator: IndicatorRef, *, changed_at: datetime
) -> bool:
    """Store ``indicator`` as of ``changed_at``; ``False`` when nothing changed or a newer
    state is already stored."""
    repository = IndicatorRefRepository.from_session(session)
    row = await repository.for_update(indicator.code)
    if row is None:
        await repository.add(
            IndicatorRefRow(
                code=indicator.code,
                names=indicator.names,
                unit=indicator.unit,
                source_changed_at=changed_at,
            )
        )
        return True
    if row.source_changed_at > changed_at:
        return False
    if (row.names, row.unit, row.removed_at) == (indicator.names, indicator.unit, None):
        return False
    row.names, row.unit, row.removed_at = indicator.names, indicator.unit, None
    row.source_changed_at = changed_at
    await repository.flush()
    return True


async def apply_indicator_removed(
    session: AsyncSession, code: str, *, changed_at: datetime
) -> bool:
    """Mark ``code`` removed as of ``changed_at`` (kept for the evidence that names it)."""
    repository = IndicatorRefRepository.from_session(session)
    row = await repository.for_update(code)
    if row is None or row.source_changed_at > changed_at or row.removed_at is not None:
        return False
    row.removed_at = changed_at
    row.source_changed_at = changed_at
    await repository.flush()
    return True


async def resync_indicator_refs(
    session: AsyncSession, catalogue: Iterable[tuple[IndicatorRef, datetime]]
) -> int:
    """Make ``dialogue.indicator_ref`` agree with ``catalogue`` (every indicator of profiles,
    with when it last changed): missing or changed ones stored, ones gone marked removed.
    How many rows changed."""
    changed = 0
    known: set[str] = set()
    for indicator, changed_at in catalogue:
        known.add(indicator.code)
        changed += await apply_indicator_changed(session, indicator, changed_at=changed_at)
    now = datetime.now(UTC)
    repository = IndicatorRefRepository.from_session(session)
    for code in await repository.current_codes_except(known):
        changed += await apply_indicator_removed(session, code, changed_at=now)
    return changed


async def indicators_by_code(
    session: AsyncSession, codes: Iterable[str]
) -> Mapping[str, IndicatorRefRow]:
    """The indicators of ``codes`` the dialogue knows (removed ones too), by code."""
    return await IndicatorRefRepository.from_session(session).by_codes(codes)


async def ensure_known_indicators(session: AsyncSession, codes_by_field: Mapping[str, str]) -> None:
    """422 naming each field (``evidence.0.indicator``) whose code is not an indicator of
    the catalogue (unknown, or removed from it)."""
    known = await IndicatorRefRepository.from_session(session).current_codes(
        codes_by_field.values()
    )
    errors = [
        field_error(field, f"{code} is not an indicator of the catalogue", value=code)
        for field, code in codes_by_field.items()
        if code not in known
    ]
    if errors:
        raise ValidationFailed("Some indicator codes are not in the catalogue.", errors=errors)


__all__: Sequence[str] = (
    "apply_indicator_changed",
    "apply_indicator_removed",
    "ensure_known_indicators",
    "indicators_by_code",
    "resync_indicator_refs",
)
