"""The dialogue's read model of the indicator catalogue: applying profiles' changes is
idempotent, ignores what is older than the stored state, and keeps removed indicators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.dialogue_api.indicators.models import IndicatorRef as IndicatorRefRow
from services.dialogue_api.indicators.service import (
    apply_indicator_changed,
    apply_indicator_removed,
    ensure_known_indicators,
    resync_indicator_refs,
)
from shared.contracts.indicators import IndicatorRef
from shared.errors import ValidationFailed

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
CLASSES = IndicatorRef(
    code="language_classes_places", names={"en": "Places in language classes"}, unit="count"
)
RENAMED = CLASSES.model_copy(update={"names": {"en": "Seats", "fr": "Places"}})


async def stored(session: AsyncSession, code: str = CLASSES.code) -> IndicatorRefRow | None:
    session.expire_all()
    return await session.get(IndicatorRefRow, code)


async def test_a_change_applied_twice_changes_once(session: AsyncSession) -> None:
    assert await apply_indicator_changed(session, CLASSES, changed_at=T0)
    assert not await apply_indicator_changed(session, CLASSES, changed_at=T0)
    row = await stored(session)
    assert row is not None and (row.names, row.unit, row.removed_at) == (
        CLASSES.names,
        "count",
        None,
    )


async def test_an_older_change_never_overwrites_a_newer_one(session: AsyncSession) -> None:
    await apply_indicator_changed(session, RENAMED, changed_at=T0 + timedelta(minutes=1))
    # The creation arrives after the rename (redelivered, or reordered).
    assert not await apply_indicator_changed(session, CLASSES, changed_at=T0)
    assert not await apply_indicator_removed(session, CLASSES.code, changed_at=T0)
    row = await stored(session)
    assert row is not None and row.names == RENAMED.names and row.removed_at is None


async def test_a_removed_indicator_is_kept_refused_and_may_come_back(
    session: AsyncSession,
) -> None:
    await apply_indicator_changed(session, CLASSES, changed_at=T0)
    assert await apply_indicator_removed(session, CLASSES.code, changed_at=T0 + timedelta(1))
    assert not await apply_indicator_removed(session, CLASSES.code, changed_at=T0 + timedelta(1))
    row = await stored(session)
    assert row is not None and row.removed_at is not None and row.names == CLASSES.names

    try:
        await ensure_known_indicators(session, {"evidence.0.indicator": CLASSES.code})
    except ValidationFailed as refused:
        assert [e["field"] for e in refused.errors] == ["evidence.0.indicator"], refused.errors
    else:
        raise AssertionError("a removed indicator was accepted")

    # Added again later in profiles: known again.
    assert await apply_indicator_changed(session, RENAMED, changed_at=T0 + timedelta(2))
    await ensure_known_indicators(session, {"indicator": CLASSES.code})


async def test_the_resync_stores_the_catalogue_and_marks_what_is_gone(
    session: AsyncSession,
) -> None:
    await apply_indicator_changed(session, CLASSES, changed_at=T0)
    catalogue = []
    for code in ("population", "foreign_born"):
        row = await stored(session, code)
        assert row is not None, code
        indicator = IndicatorRef(code=row.code, names=row.names, unit=row.unit)
        catalogue.append((indicator, row.source_changed_at))
    changed = await resync_indicator_refs(session, catalogue)

    # Everything but the two listed is gone from this catalogue: the demo's other indicators
    # and the one applied above.
    assert changed >= 2, changed
    classes = await stored(session)
    assert classes is not None and classes.removed_at is not None
    population = await stored(session, "population")
    assert population is not None and population.removed_at is None
    assert await resync_indicator_refs(session, catalogue) == 0
