"""Writing a batch of observations: COPY into staging, then one set-based upsert with history.

The batch lives in temporary tables of the request's transaction. ``apply`` matches or
creates the sources the batch names, upserts every row keyed by (city, indicator, period,
scope, breakdown, source), records each created or changed value in the history, and
announces the affected keys in the outbox, all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.db import audit_log, events
from services.profiles_api.observations.repository import lock_city_observations
from services.profiles_api.observations.validation import (
    STAGING_COLUMNS,
    SourceRegistry,
    StagingRecord,
)
from services.profiles_api.sources.models import Source
from shared.audit import Action
from shared.contracts.events import ObservationKey, ObservationsChanged

_STAGING_DDL = """
CREATE TEMPORARY TABLE {name} (
    row_no integer NOT NULL,
    city_code varchar(5) NOT NULL,
    indicator_code varchar(64) NOT NULL,
    period varchar(10) NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    scope varchar(64) NOT NULL,
    disaggregation varchar(255) NOT NULL,
    dimensions jsonb NOT NULL,
    value double precision,
    value_low double precision,
    value_high double precision,
    obs_status varchar(1) NOT NULL,
    source_key integer NOT NULL,
    note text
) ON COMMIT DROP
"""

_SOURCE_MAP_DDL = """
CREATE TEMPORARY TABLE {name} (source_key integer PRIMARY KEY, source_id bigint NOT NULL)
ON COMMIT DROP
"""

_KEY = "city_code, indicator_code, period, scope, disaggregation"

_UPSERT = """
WITH incoming AS (
    SELECT s.*, m.source_id, src.reliability_rank
    FROM {staging} s JOIN {source_map} m USING (source_key)
    JOIN profiles.source src ON src.id = m.source_id
),
previous AS (
    SELECT o.id, o.value, o.value_low, o.value_high, o.obs_status, o.note
    FROM profiles.observation o
    JOIN incoming i USING (city_code, indicator_code, period, scope, disaggregation, source_id)
),
upserted AS (
    INSERT INTO profiles.observation AS o (
        city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
        dimensions, value, value_low, value_high, obs_status, source_id, reliability_rank,
        note, updated_by
    )
    SELECT city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
           dimensions, value, value_low, value_high, obs_status, source_id, reliability_rank,
           note, :actor
    FROM incoming
    ORDER BY row_no
    ON CONFLICT ON CONSTRAINT uq_observation_key DO UPDATE SET
        value = EXCLUDED.value,
        value_low = EXCLUDED.value_low,
        value_high = EXCLUDED.value_high,
        obs_status = EXCLUDED.obs_status,
        note = EXCLUDED.note,
        updated_by = EXCLUDED.updated_by,
        updated_at = now()
    WHERE (o.value, o.value_low, o.value_high, o.obs_status, o.note)
        IS DISTINCT FROM
        (EXCLUDED.value, EXCLUDED.value_low, EXCLUDED.value_high, EXCLUDED.obs_status,
         EXCLUDED.note)
    RETURNING o.id, o.city_code, o.indicator_code, o.period,
              o.value, o.value_low, o.value_high, o.obs_status, o.note
),
-- A row written whose key had no row before was inserted (a partitioned table returns no
-- xmax to tell); the city locks keep other writers of these keys out meanwhile.
applied AS (
    SELECT u.*, p.id IS NULL AS inserted, p.value AS old_value, p.value_low AS old_value_low,
           p.value_high AS old_value_high, p.obs_status AS old_obs_status, p.note AS old_note
    FROM upserted u LEFT JOIN previous p ON p.id = u.id
),
history AS (
    INSERT INTO profiles.observation_history
        (observation_id, city_code, change, old, new, changed_by, reason, import_id)
    SELECT u.id, u.city_code,
           CASE WHEN u.inserted THEN 'created' ELSE 'updated' END,
           CASE WHEN u.inserted THEN NULL ELSE jsonb_build_object(
               'value', u.old_value, 'value_low', u.old_value_low,
               'value_high', u.old_value_high, 'obs_status', u.old_obs_status,
               'note', u.old_note) END,
           jsonb_build_object(
               'value', u.value, 'value_low', u.value_low, 'value_high', u.value_high,
               'obs_status', u.obs_status, 'note', u.note),
           :actor, :reason, :import_id
    FROM applied u
)
SELECT indicator_code, period, array_agg(DISTINCT city_code ORDER BY city_code) AS cities,
       count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM applied
GROUP BY indicator_code, period
ORDER BY indicator_code, period
"""


@dataclass
class WriteResult:
    """What applying a batch did."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    sources_created: int = 0
    keys: list[ObservationKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return self.received - self.inserted - self.updated


@dataclass(frozen=True)
class Duplicate:
    row: int
    first_row: int


class ObservationBatch:
    """A batch of observations staged in the session's transaction."""

    def __init__(self, session: AsyncSession, sources: SourceRegistry) -> None:
        suffix = uuid.uuid4().hex[:12]
        self.session = session
        self.sources = sources
        self.staging = f"obs_staging_{suffix}"
        self.source_map = f"obs_source_map_{suffix}"
        self.received = 0

    async def open(self, *, timeout_seconds: int | None = None) -> None:
        """Create the staging tables; ``timeout_seconds`` bounds each statement of the write
        from here on, in place of the request's usual limit (a large file is streamed into
        COPY while it uploads, and its upsert is one long statement)."""
        if timeout_seconds is not None:
            await self.session.execute(
                text(f"SET LOCAL statement_timeout = '{int(timeout_seconds)}s'")
            )
        await self.session.execute(text(_STAGING_DDL.format(name=self.staging)))
        await self.session.execute(text(_SOURCE_MAP_DDL.format(name=self.source_map)))

    async def close(self) -> None:
        """Drop the staging tables now rather than at commit (a session may run several)."""
        await self.session.execute(text(f"DROP TABLE IF EXISTS {self.staging}, {self.source_map}"))

    async def _driver_connection(self) -> Any:
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def copy(self, records: AsyncIterable[StagingRecord] | Iterable[StagingRecord]) -> int:
        """Stream records into staging with COPY; returns how many went in."""
        counted = _Counted(records)
        driver = await self._driver_connection()
        await driver.copy_records_to_table(
            self.staging, records=counted, columns=list(STAGING_COLUMNS)
        )
        self.received += counted.count
        return counted.count

    async def resolve_sources(self) -> tuple[int, list[str]]:
        """Match the batch's sources to existing ones or create them.

        New sources are inserted in one statement, in the order of their identity, so two
        batches naming the same new sources wait for each other instead of deadlocking.
        Returns how many were created, and a note for each source the batch describes
        differently from the existing one it matched (the existing description is kept).
        """
        named = [source for _, source in self.sources.inline.values()]
        keys = [key for key, _ in self.sources.inline.values()]
        titles = [source.title for source in named]
        urls = [source.url or "" for source in named]
        created: set[tuple[str, str]] = set()
        if named:
            inserted = await self.session.execute(
                text(
                    """
                    INSERT INTO profiles.source (title, publisher, url, kind, reliability_rank)
                    SELECT title, publisher, nullif(url, ''), kind, rank
                    FROM unnest(CAST(:titles AS text[]), CAST(:publishers AS text[]),
                                CAST(:urls AS text[]), CAST(:kinds AS text[]),
                                CAST(:ranks AS integer[])) AS n(title, publisher, url, kind, rank)
                    ORDER BY title, url
                    ON CONFLICT (title, (coalesce(url, ''))) DO NOTHING
                    RETURNING id, title, coalesce(url, '') AS url, publisher, kind,
                              reliability_rank
                    """
                ),
                {
                    "titles": titles,
                    "publishers": [source.publisher for source in named],
                    "urls": urls,
                    "kinds": [source.kind.value for source in named],
                    "ranks": [SourceRegistry.default_rank(source) for source in named],
                },
            )
            for row in inserted:
                created.add((row.title, row.url))
                await audit_log.record(
                    self.session,
                    action=Action.create,
                    resource="source",
                    resource_id=row.id,
                    change={
                        "title": row.title,
                        "url": row.url or None,
                        "publisher": row.publisher,
                        "kind": row.kind,
                        "reliability_rank": row.reliability_rank,
                    },
                )
        matched = await self.session.execute(
            text(
                f"""
                INSERT INTO {self.source_map} (source_key, source_id)
                SELECT n.key, s.id
                FROM unnest(CAST(:keys AS integer[]), CAST(:titles AS text[]),
                            CAST(:urls AS text[])) AS n(key, title, url)
                JOIN profiles.source s ON s.title = n.title AND coalesce(s.url, '') = n.url
                UNION ALL
                SELECT key, id FROM unnest(CAST(:id_keys AS integer[]),
                                           CAST(:ids AS bigint[])) AS i(key, id)
                RETURNING source_key, source_id
                """
            ),
            {
                "keys": keys,
                "titles": titles,
                "urls": urls,
                "id_keys": list(self.sources.by_id.values()),
                "ids": list(self.sources.by_id.keys()),
            },
        )
        source_of_key = {row.source_key: row.source_id for row in matched}
        notes = list(self.sources.notes)
        reused = {
            key: source
            for key, source in self.sources.inline.values()
            if source.identity not in created
        }
        if reused:
            rows = await self.session.execute(
                select(Source.id, Source.kind, Source.publisher).where(
                    Source.id.in_([source_of_key[key] for key in reused])
                )
            )
            described = {row.id: row for row in rows}
            for key, source in reused.items():
                row = described[source_of_key[key]]
                notes.extend(self.sources.differences(source, row.kind, row.publisher))
        return len(created), notes

    async def duplicates(self, limit: int) -> list[Duplicate]:
        """Rows that repeat the key of an earlier row of the same batch.

        Two rows with the same source are duplicates however they name it: by id, or inline
        by the title and address of that source.
        """
        rows = await self.session.execute(
            text(
                f"""
                SELECT row_no, first_row FROM (
                    SELECT s.row_no,
                           min(s.row_no) OVER (PARTITION BY {_KEY}, m.source_id) AS first_row
                    FROM {self.staging} s JOIN {self.source_map} m USING (source_key)
                ) ranked
                WHERE row_no <> first_row ORDER BY row_no LIMIT :limit
                """
            ),
            {"limit": limit},
        )
        return [Duplicate(row=row.row_no, first_row=row.first_row) for row in rows]

    async def lock_cities(self) -> None:
        """Serialise writers of the same cities, so history records the value each replaced."""
        cities = await self.session.scalars(text(f"SELECT DISTINCT city_code FROM {self.staging}"))
        await lock_city_observations(self.session, list(cities))

    async def write(
        self,
        *,
        actor: str,
        reason: str | None,
        import_id: uuid.UUID | None,
        duplicate_limit: int,
    ) -> WriteResult:
        """Resolve sources, then upsert the staged rows unless some repeat another's key.

        With duplicates the result lists them and nothing is upserted; the caller rejects
        the batch (and its transaction rolls the new sources back).
        """
        result = WriteResult(received=self.received)
        result.sources_created, result.notes = await self.resolve_sources()
        result.duplicates = await self.duplicates(duplicate_limit)
        if result.duplicates:
            return result
        await self._apply(result, actor=actor, reason=reason, import_id=import_id)
        return result

    async def _apply(
        self,
        result: WriteResult,
        *,
        actor: str,
        reason: str | None,
        import_id: uuid.UUID | None,
    ) -> None:
        """Upsert the staged rows, keep their history and announce what changed."""
        await self.lock_cities()
        # The sources' ranks copied into the rows stay as they are until this commits: a
        # change of rank waits, then updates these rows too (``sources.service``).
        await self.session.execute(
            text(
                "SELECT 1 FROM profiles.source WHERE id IN "
                f"(SELECT source_id FROM {self.source_map}) ORDER BY id FOR SHARE"
            )
        )
        # Sorting and hashing a large batch in memory rather than in temporary files.
        await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        rows = await self.session.execute(
            text(_UPSERT.format(staging=self.staging, source_map=self.source_map)),
            {"actor": actor, "reason": reason, "import_id": import_id},
        )
        for row in rows:
            result.inserted += row.inserted
            result.updated += row.updated
            result.keys.append(
                ObservationKey(indicator=row.indicator_code, period=row.period, cities=row.cities)
            )
        await self._record(result, reason=reason, import_id=import_id)
        if result.keys:
            await events.add(
                self.session,
                ObservationsChanged(
                    keys=result.keys, inserted=result.inserted, updated=result.updated
                ),
                actor=actor,
            )

    async def _record(
        self, result: WriteResult, *, reason: str | None, import_id: uuid.UUID | None
    ) -> None:
        """One audit entry for the whole batch or import, with its counts (each value's
        change is in the observations' own history)."""
        cities = sorted({city for key in result.keys for city in key.cities})
        await audit_log.record(
            self.session,
            action=Action.import_ if import_id is not None else Action.upsert,
            resource="import" if import_id is not None else "observation",
            resource_id=import_id,
            city=cities[0] if len(cities) == 1 else None,
            change={
                "received": result.received,
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "sources_created": result.sources_created,
                "cities": cities,
                "indicators": sorted({key.indicator for key in result.keys}),
                "reason": reason,
            },
        )


class _Counted:
    """Passes records through to COPY, counting them."""

    def __init__(self, records: AsyncIterable[StagingRecord] | Iterable[StagingRecord]) -> None:
        self.records = records
        self.count = 0

    async def __aiter__(self) -> Any:
        if isinstance(self.records, AsyncIterable):
            async for record in self.records:
                self.count += 1
                yield record
        else:
            for record in self.records:
                self.count += 1
                yield record
