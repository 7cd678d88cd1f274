"""Writing a batch of observations: COPY into staging, then set-based statements with history.

The batch lives in temporary tables of the request's transaction. ``write`` matches or
creates the sources the batch names, finds the staged rows whose key (city, indicator,
period, scope, breakdown, source) has an observation already, inserts the others in the
order they came and updates the matched ones whose values differ, records each created or
changed value in the history, and announces the affected keys in the outbox, all in the
caller's transaction. Rows repeating a key are found by those statements themselves, not by
a check beforehand (``ObservationBatch._apply``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
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

#: The staged rows whose key has an observation already, with its id, its values and the
#: row's (read under the city locks, so they stay the observation's until the transaction
#: ends). A batch of new figures finds none, and pays one index lookup per row for it.
_MATCH = """
CREATE TEMPORARY TABLE {matched} ON COMMIT DROP AS
SELECT s.row_no, o.id, o.city_code, o.indicator_code, o.period,
       o.value AS old_value, o.value_low AS old_value_low, o.value_high AS old_value_high,
       o.obs_status AS old_obs_status, o.note AS old_note,
       s.value, s.value_low, s.value_high, s.obs_status, s.note
FROM {staging} s
JOIN profiles.observation o
  ON o.city_code = s.city_code AND o.indicator_code = s.indicator_code
 AND o.period = s.period AND o.scope = s.scope AND o.disaggregation = s.disaggregation
 AND o.source_id = (CAST(:source_ids AS bigint[]))[s.source_key]
"""

#: Per (indicator, period) of the written rows ``{rows}``: its cities and how many rows.
_KEYS = """
SELECT indicator_code, period, array_agg(city_code ORDER BY city_code) AS cities,
       sum(written) AS written
FROM (SELECT indicator_code, period, city_code, count(*) AS written
      FROM {rows} GROUP BY indicator_code, period, city_code) per_city
GROUP BY indicator_code, period
"""

#: The staged rows of new keys, inserted, and the history of each: in the order of the
#: rows. A plain insert, not an upsert: the rows of existing keys are known (``_MATCH``),
#: and a key staged twice fails the unique key, which is how repeated rows are found.
#: ``{new_only}`` leaves the matched rows out (empty when there are none). Without it the
#: rows are read from staging as COPY wrote them, in the file's order (a temporary table
#: is never read by parallel workers nor by synchronised scans), so no sort is needed.
_INSERT = """
WITH inserted AS (
    INSERT INTO profiles.observation (
        city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
        dimensions, value, value_low, value_high, obs_status, source_id, reliability_rank,
        note, updated_by
    )
    SELECT city_code, indicator_code, period, period_start, period_end, scope, disaggregation,
           dimensions, value, value_low, value_high, obs_status,
           (CAST(:source_ids AS bigint[]))[source_key],
           (CAST(:source_ranks AS smallint[]))[source_key], note, :actor
    FROM {staging} s
    {new_only}
    RETURNING id, city_code, indicator_code, period, value, value_low, value_high,
              obs_status, note
),
history AS (
    INSERT INTO profiles.observation_history
        (observation_id, city_code, change, old, new, changed_by, reason, import_id)
    SELECT id, city_code, 'created', NULL,
           jsonb_build_object(
               'value', value, 'value_low', value_low, 'value_high', value_high,
               'obs_status', obs_status, 'note', note),
           :actor, :reason, :import_id
    FROM inserted
)
""" + _KEYS.format(rows="inserted")

_NEW_ONLY = """
    WHERE NOT EXISTS (SELECT FROM {matched} m WHERE m.row_no = s.row_no)
    ORDER BY s.row_no
"""

#: The matched rows whose values differ, updated, and the history of each (old and new).
_UPDATE = """
WITH changed AS (
    UPDATE profiles.observation o SET
        value = m.value,
        value_low = m.value_low,
        value_high = m.value_high,
        obs_status = m.obs_status,
        note = m.note,
        updated_by = :actor,
        updated_at = now()
    FROM {matched} m
    WHERE o.id = m.id AND o.city_code = m.city_code
      AND (m.old_value, m.old_value_low, m.old_value_high, m.old_obs_status, m.old_note)
          IS DISTINCT FROM (m.value, m.value_low, m.value_high, m.obs_status, m.note)
    RETURNING o.id, o.city_code, o.indicator_code, o.period,
              m.old_value, m.old_value_low, m.old_value_high, m.old_obs_status, m.old_note,
              o.value, o.value_low, o.value_high, o.obs_status, o.note
),
history AS (
    INSERT INTO profiles.observation_history
        (observation_id, city_code, change, old, new, changed_by, reason, import_id)
    SELECT id, city_code, 'updated',
           jsonb_build_object(
               'value', old_value, 'value_low', old_value_low, 'value_high', old_value_high,
               'obs_status', old_obs_status, 'note', old_note),
           jsonb_build_object(
               'value', value, 'value_low', value_low, 'value_high', value_high,
               'obs_status', obs_status, 'note', note),
           :actor, :reason, :import_id
    FROM changed
)
""" + _KEYS.format(rows="changed")

#: A unique key violated: the only unique key an insert can violate is the observation's
#: (ids are generated).
_UNIQUE_VIOLATION = "23505"


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
        self.matched = f"obs_matched_{suffix}"
        self.received = 0
        self.cities: set[str] = set()  # of the rows staged
        #: Each staged row's source id, by its ``source_key`` (1, 2…): ``resolve_sources``;
        #: and that source's reliability rank, which observations keep a copy of.
        self.source_ids: list[int] = []
        self.source_ranks: list[int | None] = []

    async def open(self, *, timeout_seconds: int | None = None) -> None:
        """Create the staging tables; ``timeout_seconds`` bounds each statement of the write
        from here on, in place of the request's usual limit (a large file is streamed into
        COPY while it uploads, and its insert is one long statement)."""
        if timeout_seconds is not None:
            await self.session.execute(
                text(f"SET LOCAL statement_timeout = '{int(timeout_seconds)}s'")
            )
        await self.session.execute(text(_STAGING_DDL.format(name=self.staging)))
        await self.session.execute(text(_SOURCE_MAP_DDL.format(name=self.source_map)))

    async def close(self) -> None:
        """Drop the staging tables now rather than at commit (a session may run several)."""
        await self.session.execute(
            text(f"DROP TABLE IF EXISTS {self.staging}, {self.source_map}, {self.matched}")
        )

    async def _driver_connection(self) -> Any:
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    async def copy(self, records: AsyncIterable[StagingRecord] | Iterable[StagingRecord]) -> int:
        """Stream records into staging with COPY; returns how many went in."""
        counted = _Counted(records, self.cities)
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
        # Keys are numbered from 1 without gaps (``SourceRegistry.key_for``).
        self.source_ids = [source_of_key[key] for key in range(1, len(source_of_key) + 1)]
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
        await lock_city_observations(self.session, sorted(self.cities))

    async def hold_sources(self) -> None:
        """Read the ranks of the batch's sources and hold them ``FOR SHARE``: the ranks the
        rows copy stay as they are until this commits (a change of rank waits, then updates
        these rows too: ``sources.service``)."""
        rows = await self.session.execute(
            text(
                "SELECT id, reliability_rank FROM profiles.source "
                "WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR SHARE"
            ),
            {"ids": self.source_ids},
        )
        rank_of = {row.id: row.reliability_rank for row in rows}
        self.source_ranks = [rank_of.get(source_id) for source_id in self.source_ids]

    async def write(
        self,
        *,
        actor: str,
        reason: str | None,
        import_id: uuid.UUID | None,
        duplicate_limit: int,
    ) -> WriteResult:
        """Resolve sources, then write the staged rows unless some repeat another's key.

        With duplicates the result lists them and nothing is written; the caller rejects
        the batch (and its transaction rolls the new sources back).
        """
        result = WriteResult(received=self.received)
        result.sources_created, result.notes = await self.resolve_sources()
        await self.lock_cities()
        await self.hold_sources()
        # Sorting and hashing a large batch in memory rather than in temporary files.
        await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
        try:
            # A savepoint, so that the transaction goes on after a repeated key fails the
            # insert: the rows, their history, audit entry and event are all written in it.
            async with self.session.begin_nested():
                await self._apply(result, actor=actor, reason=reason, import_id=import_id)
        except (_RepeatedKeys, IntegrityError) as error:
            if isinstance(error, IntegrityError) and _sqlstate(error) != _UNIQUE_VIOLATION:
                raise
            result.duplicates = await self.duplicates(duplicate_limit)
            if not result.duplicates and isinstance(error, IntegrityError):
                raise  # a key violated otherwise: not ours to hide
        return result

    async def _apply(
        self,
        result: WriteResult,
        *,
        actor: str,
        reason: str | None,
        import_id: uuid.UUID | None,
    ) -> None:
        """Insert the staged rows of new keys, update those of existing keys whose values
        differ, keep their history and announce what changed.

        Rows repeating a key are found on the way, not by a check beforehand: two of an
        existing key are matched to the same observation (``GROUP BY … HAVING``: raises
        ``_RepeatedKeys``), two of a new key fail the unique key of the insert (raises
        ``IntegrityError``); ``write`` then rolls back what this wrote and lists them.
        """
        parameters = {
            "actor": actor,
            "reason": reason,
            "import_id": import_id,
            "source_ids": self.source_ids,
            "source_ranks": self.source_ranks,
        }
        created = await self.session.execute(
            text(_MATCH.format(matched=self.matched, staging=self.staging)), parameters
        )
        matched = int(created.rowcount or 0)  # type: ignore[attr-defined]
        if matched:
            repeated = await self.session.scalar(
                text(
                    f"SELECT EXISTS (SELECT FROM {self.matched} GROUP BY id, city_code "
                    "HAVING count(*) > 1)"
                )
            )
            if repeated:
                raise _RepeatedKeys
        new_only = _NEW_ONLY.format(matched=self.matched) if matched else ""
        inserted = await self.session.execute(
            text(_INSERT.format(staging=self.staging, new_only=new_only)), parameters
        )
        written = {
            (row.indicator_code, row.period): (set(row.cities), int(row.written), 0)
            for row in inserted
        }
        if matched:
            updated = await self.session.execute(
                text(_UPDATE.format(matched=self.matched)), parameters
            )
            for row in updated:
                cities, inserted_rows, _ = written.get(
                    (row.indicator_code, row.period), (set(), 0, 0)
                )
                written[row.indicator_code, row.period] = (
                    cities | set(row.cities),
                    inserted_rows,
                    int(row.written),
                )
        for (indicator, period), (cities, inserted_rows, updated_rows) in sorted(written.items()):
            result.inserted += inserted_rows
            result.updated += updated_rows
            result.keys.append(
                ObservationKey(indicator=indicator, period=period, cities=sorted(cities))
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


class _RepeatedKeys(Exception):
    """Staged rows repeat a key: nothing was written."""


class _Counted:
    """Passes records through to COPY, counting them and noting their cities."""

    def __init__(
        self,
        records: AsyncIterable[StagingRecord] | Iterable[StagingRecord],
        cities: set[str],
    ) -> None:
        self.records = records
        self.cities = cities
        self.count = 0

    async def __aiter__(self) -> Any:
        cities = self.cities
        if isinstance(self.records, AsyncIterable):
            async for record in self.records:
                self.count += 1
                cities.add(record[1])
                yield record
        else:
            for record in self.records:
                self.count += 1
                cities.add(record[1])
                yield record


def _sqlstate(error: DBAPIError) -> str | None:
    """The SQLSTATE of the driver's error under SQLAlchemy's."""
    code = getattr(error.orig, "sqlstate", None)
    return code if isinstance(code, str) else None
