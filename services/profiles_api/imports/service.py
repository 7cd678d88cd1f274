"""CSV imports in the tidy format (or SDMX-CSV 2.0 translated into it): streamed, validated
row by row, applied all or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.imports.csv_stream import CsvProblem, csv_records
from services.profiles_api.imports.repository import ObservationKey, observation_ids
from services.profiles_api.imports.rows import RowReader
from services.profiles_api.imports.schemas import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportResult,
)
from services.profiles_api.imports.sdmx_rows import TIDY_HEADER, WITHDRAW, SdmxRows
from services.profiles_api.observations import service as observations
from services.profiles_api.observations.fields import FieldProblem
from services.profiles_api.observations.validation import ObservationValidator, StagingRecord
from services.profiles_api.observations.writer import ObservationBatch, WriteResult
from shared.auth import Principal
from shared.errors import ValidationFailed, invalid

_FIELD_TO_COLUMN = {"dimensions": "dimension", "source": "source_title"}
_KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)


@dataclass
class _RowErrors:
    """Rejected rows, the first ``limit`` of them kept for the report."""

    limit: int
    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, row: int, column: str, detail: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(
                {"row": row, "column": column, "field": column, "location": "row", "detail": detail}
            )


def _check_header(cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    errors = _RowErrors(limit=100)
    for position, name in enumerate(header):
        if name not in _KNOWN_COLUMNS:
            errors.add(1, name or f"column {position + 1}", "is not a column of the format")
        elif header.index(name) != position:
            errors.add(1, name, "appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.add(1, name, "required column is missing")
    if errors.count:
        raise ValidationFailed(
            "The header row does not match the import format "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS)}).",
            errors=errors.items,
        )
    return header


#: Rows of ``ACTION`` ``D`` one SDMX-CSV import may hold: each withdrawal is checked and
#: applied on its own (with its history row and its event), unlike the rows COPY stages.
MAX_WITHDRAWALS = 10_000


async def import_csv(
    session: AsyncSession,
    principal: Principal,
    chunks: AsyncIterable[bytes],
    *,
    dry_run: bool,
    reason: str | None,
    max_reported_errors: int,
    statement_timeout_seconds: int | None = None,
    sdmx: bool = False,
) -> ImportResult:
    """Import a CSV file of figures: every row valid and written, or nothing written.

    Rows stream from ``chunks`` through validation into a staging table by COPY; the
    file is never held whole. A dry run goes as far as applying the rows inside a
    savepoint that is rolled back, so it reports exactly what a real run would do.
    ``sdmx``: the file is SDMX-CSV 2.0 of ``MC2CM:CITY_MIGRATION``, each row translated
    into the tidy format; rows of ``ACTION`` ``D`` withdraw the observations they name.
    """
    import_id = uuid.uuid4()
    validator = await ObservationValidator.load(session, principal)
    translator = await SdmxRows.load(session) if sdmx else None
    withdrawals: list[tuple[int, ObservationKey]] = []
    errors = _RowErrors(limit=max_reported_errors)
    rows = csv_records(chunks)
    state: dict[str, int] = {"rows": 0}

    async def valid_records() -> AsyncIterator[StagingRecord]:
        try:
            first = await anext(rows)
        except StopAsyncIteration:
            raise ValidationFailed(
                "The file is empty: it needs a header row and at least one data row.",
                errors=[
                    {
                        "row": 1,
                        "column": "file",
                        "field": "file",
                        "location": "row",
                        "detail": "empty file",
                    }
                ],
            ) from None
        if translator is None:
            reader = RowReader(_check_header(first[1]), validator)
        else:
            translator.check_header(first[1])
            reader = RowReader(TIDY_HEADER, validator)
        async for row_no, cells in rows:
            state["rows"] += 1
            action = ""
            try:
                if translator is not None:
                    action, cells = translator.translate(cells)
                record = reader.record(row_no, cells)
            except FieldProblem as problem:
                column = _FIELD_TO_COLUMN.get(problem.field, problem.field)
                if translator is not None and problem.field not in translator.index:
                    column = translator.column(problem.field)
                errors.add(row_no, column, problem.message)
                continue
            if action == WITHDRAW:
                if len(withdrawals) >= MAX_WITHDRAWALS:
                    # Each is checked and withdrawn one by one, its key held until then.
                    errors.add(
                        row_no,
                        "ACTION",
                        f"at most {MAX_WITHDRAWALS:,} rows of ACTION D in one import",
                    )
                    continue
                withdrawals.append((row_no, _key(record, cells)))
            elif not errors.count:  # once a row fails nothing will be written: stop copying
                yield record

    batch = ObservationBatch(session, validator.sources)
    await batch.open(timeout_seconds=statement_timeout_seconds)
    try:
        await batch.copy(valid_records())
    except CsvProblem as problem:
        errors.add(problem.row, "file", problem.message)
    validator.refuse_forbidden_cities()
    if not errors.count and state["rows"] == 0:
        errors.add(2, "file", "the file has a header but no data rows")
    if errors.count:
        raise _rejected(errors, state["rows"])
    if withdrawals and not reason:
        raise invalid(
            "reason",
            "is required when rows withdraw observations (ACTION D): it is kept in their history",
            location="query",
        )
    result = await _write(
        session,
        batch,
        principal,
        reason,
        import_id,
        dry_run=dry_run,
        duplicate_limit=max_reported_errors,
        withdrawals=withdrawals,
        errors=errors,
    )
    if result.duplicates:
        for duplicate in result.duplicates:
            errors.add(
                duplicate.row,
                "row",
                f"repeats row {duplicate.first_row} (same city, indicator, period, scope, "
                "dimension and source)",
            )
        raise _rejected(errors, state["rows"])
    if errors.count:
        raise _rejected(errors, state["rows"])
    await batch.close()
    return ImportResult(
        import_id=import_id,
        dry_run=dry_run,
        status="validated" if dry_run else "applied",
        rows=state["rows"],
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        sources_created=result.sources_created,
        withdrawn=len(withdrawals),
        notes=result.notes,
    )


def _key(record: StagingRecord, cells: list[str]) -> ObservationKey:
    """The key of a validated tidy row that names its source by id (``sdmx_rows``)."""
    _, city, indicator, period, _, _, scope, disaggregation, *_ = record
    source_id = int(cells[TIDY_HEADER.index("source_id")])
    return ObservationKey(city, indicator, period, scope, disaggregation, source_id)


async def _withdraw(
    session: AsyncSession,
    principal: Principal,
    withdrawals: list[tuple[int, ObservationKey]],
    reason: str,
    errors: _RowErrors,
    import_id: uuid.UUID,
) -> None:
    """Withdraw the observations the rows name; a row naming none is an error."""
    found = await observation_ids(session, [key for _, key in withdrawals])
    seen: dict[int, int] = {}
    for row_no, key in withdrawals:
        observation_id = found.get(key)
        if observation_id is None:
            errors.add(row_no, "row", "names no observation (nothing to withdraw)")
        elif observation_id in seen:
            errors.add(row_no, "row", f"withdraws the observation of row {seen[observation_id]}")
        else:
            seen[observation_id] = row_no
    if errors.count:
        return
    for observation_id in seen:
        await observations.delete_observation(
            session, principal, observation_id, reason=reason, import_id=import_id
        )


def _rejected(errors: _RowErrors, rows: int) -> ValidationFailed:
    shown = "" if errors.count <= len(errors.items) else f" (first {len(errors.items)} listed)"
    return ValidationFailed(
        f"{errors.count} row(s) rejected{shown}; nothing was written.",
        errors=errors.items,
        error_count=errors.count,
        rows=rows,
    )


async def _write(
    session: AsyncSession,
    batch: ObservationBatch,
    principal: Principal,
    reason: str | None,
    import_id: uuid.UUID,
    *,
    dry_run: bool,
    duplicate_limit: int,
    withdrawals: list[tuple[int, ObservationKey]],
    errors: _RowErrors,
) -> WriteResult:
    """Write the batch, then withdraw what its rows withdraw (rows naming no observation are
    added to ``errors``); a dry run writes inside a savepoint it then rolls back."""
    savepoint = await session.begin_nested() if dry_run else None
    try:
        result = await batch.write(
            actor=principal.subject,
            reason=reason,
            import_id=import_id,
            duplicate_limit=duplicate_limit,
        )
        if withdrawals and reason and not result.duplicates:
            await _withdraw(session, principal, withdrawals, reason, errors, import_id)
        return result
    finally:
        if savepoint is not None:
            await savepoint.rollback()
