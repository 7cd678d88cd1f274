from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import array, distinct_on
from sqlalchemy.engine import Connection, Dialect, Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.profiles_api.db import audit_log_table
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.observations.models import (
    Observation,
    ObservationChange,
    ObservationsVersion,
)
from services.profiles_api.sources.models import Source
from shared.pagination import PageParams, keyset, keyset_parameters
from shared.repository import Repository
from shared.tracing import statement_span

S = TypeVar("S", bound=Select[*tuple[Any, ...]])

#: The order lists and pages follow: a city's series of an indicator, oldest first.
SORT_KEY = (
    Observation.city_code,
    Observation.indicator_code,
    Observation.period_start,
    Observation.id,
)
#: What identifies a figure regardless of its source: one preferred value per such key.
FIGURE_KEY = (
    Observation.city_code,
    Observation.indicator_code,
    Observation.period,
    Observation.scope,
    Observation.disaggregation,
)


@dataclass
class ObservationFilter:
    cities: Sequence[str] = ()
    indicators: Sequence[str] = ()
    theme: str | None = None
    start: date | None = None
    end: date | None = None
    scope: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    total_only: bool = False
    statuses: Sequence[str] = ()
    source_id: int | None = None
    preferred: bool = False

    def parameters(self) -> dict[str, Any]:
        """The value of each condition that applies, by its bound parameter's name."""
        values: dict[str, Any] = {
            "cities": list(self.cities),
            "indicators": list(self.indicators),
            "theme": self.theme,
            "start": self.start,
            "end": self.end,
            "scope": self.scope,
            "disaggregation": "" if self.total_only else None,
            "dimensions": self.dimensions if not self.total_only else None,
            "statuses": list(self.statuses),
            "source_id": self.source_id,
        }
        return {name: value for name, value in values.items() if value not in (None, [], {})}

    def apply(self, statement: S) -> S:
        """``statement`` with the conditions of ``parameters``, each value a named bound
        parameter: a statement built once can run again with other values of the same
        conditions (``page_rows_query``)."""
        for name, value in self.parameters().items():
            value_of: BindParameter[Any] = bindparam(name, value, expanding=name in _LISTS)
            statement = statement.where(_CONDITIONS[name](value_of))
        return statement


def _in_theme(theme: BindParameter[Any]) -> ColumnElement[bool]:
    return Observation.indicator_code.in_(select(Indicator.code).where(Indicator.theme == theme))


#: The condition of each filter on the bound parameter of its value.
_CONDITIONS: dict[str, Callable[[BindParameter[Any]], ColumnElement[bool]]] = {
    "cities": Observation.city_code.in_,
    "indicators": Observation.indicator_code.in_,
    "theme": _in_theme,
    "start": Observation.period_start.__ge__,
    "end": Observation.period_end.__le__,
    "scope": Observation.scope.__eq__,
    "disaggregation": Observation.disaggregation.__eq__,
    "dimensions": Observation.dimensions.contains,
    "statuses": Observation.obs_status.in_,
    "source_id": Observation.source_id.__eq__,
}
#: Filters whose value is a list (an expanding parameter).
_LISTS = {"cities", "indicators", "statuses"}


def preferred_ids(criteria: ObservationFilter) -> Select[int]:
    """Ids of the preferred observation of each figure: best reliability, then newest."""
    statement = criteria.apply(
        select(Observation, Source).join(Source, Source.id == Observation.source_id)
    )
    return (
        statement.with_only_columns(Observation.id)
        .ext(distinct_on(*FIGURE_KEY))
        .order_by(
            *FIGURE_KEY,
            Source.reliability_rank,
            Observation.updated_at.desc(),
            Observation.id.desc(),
        )
    )


def _page_of(criteria: ObservationFilter, page: PageParams) -> Any:
    """The observations of one page, chosen from ``observation`` alone, as an alias.

    Ordered by the series index and cut by the limit, choosing the page is one index range
    scan that stops after the page, however long the series and however large the table;
    sources are joined to the page afterwards. Joined first, the planner may hash-join every
    row of a series and sort them all when it underestimates the series.
    """
    statement = select(Observation)
    if criteria.preferred:
        statement = statement.where(Observation.id.in_(preferred_ids(criteria)))
    else:
        statement = criteria.apply(statement)
    return aliased(Observation, keyset(statement, page, *SORT_KEY).subquery("page"))


def page_statement(criteria: ObservationFilter, page: PageParams) -> Select[Observation, Source]:
    """The page of observations ``criteria`` select, each with its source, in keyset order."""
    chosen = _page_of(criteria, page)
    return (
        select(chosen, Source)
        .join(Source, Source.id == chosen.source_id)
        .order_by(*(getattr(chosen, column.key) for column in SORT_KEY))
    )


#: What every read of observations answers with (a page, one observation, the CSV export),
#: read as plain rows (building ORM instances for figures only serialised cost most of a
#: read), in the order ``schemas.observation_json`` unpacks them.
OBSERVATION = Observation.__table__
SOURCE = Source.__table__

LIST_COLUMNS = (
    "id",
    "city_code",
    "indicator_code",
    "period",
    "period_start",
    "period_end",
    "scope",
    "disaggregation",
    "dimensions",
    "value",
    "value_low",
    "value_high",
    "obs_status",
    "note",
    "updated_at",
)


def _with_source(observation: Any) -> Select[*tuple[Any, ...]]:
    """``LIST_COLUMNS`` of ``observation`` (the table's columns, or a subquery's) and the
    fields of its source, in the order ``schemas.observation_json`` unpacks them."""
    return select(
        *(observation[name] for name in LIST_COLUMNS),
        SOURCE.c.id.label("source_id"),
        SOURCE.c.title.label("source_title"),
        SOURCE.c.publisher.label("source_publisher"),
        SOURCE.c.url.label("source_url"),
        SOURCE.c.kind.label("source_kind"),
        SOURCE.c.reliability_rank.label("source_reliability_rank"),
    ).join(SOURCE, SOURCE.c.id == observation.source_id)


def page_rows_statement(criteria: ObservationFilter, page: PageParams) -> Select[*tuple[Any, ...]]:
    """``page_statement`` as plain rows of ``LIST_COLUMNS`` and the source's fields.

    Built in Core on the table, not on an ORM alias of the page: adapting the mapped columns
    to an alias cost more than the rest of a list request together.
    """
    statement = select(OBSERVATION)
    if criteria.preferred:
        statement = statement.where(Observation.id.in_(preferred_ids(criteria)))
    else:
        statement = criteria.apply(statement)
    chosen = keyset(statement, page, *SORT_KEY).subquery("page").c
    return _with_source(chosen).order_by(*(chosen[column.key] for column in SORT_KEY))


#: One observation as a list answers it (``page_rows_statement``'s columns): the single read
#: and the list have one serialisation, ``schemas.observation_json``.
ROW_STATEMENT = _with_source(OBSERVATION.c).where(OBSERVATION.c.id == bindparam("observation_id"))


#: ``page_rows_statement`` by the conditions it has (not their values): building it cost
#: about a third of a list request; its bound parameters take each request's values.
_PAGE_ROWS: dict[tuple[Any, ...], Select[*tuple[Any, ...]]] = {}


def page_rows_query(
    criteria: ObservationFilter, page: PageParams
) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    """``page_rows_statement`` for ``criteria`` and ``page``, and the values to run it with."""
    values = criteria.parameters() | keyset_parameters(page, *SORT_KEY)
    shape = (criteria.preferred, *sorted(values))
    statement = _PAGE_ROWS.get(shape)
    if statement is None:
        statement = _PAGE_ROWS[shape] = page_rows_statement(criteria, page)
    return statement, values


@dataclass(frozen=True)
class DriverQuery:
    """``page_rows_statement`` of one shape compiled to the driver's SQL (``$n`` markers),
    with where each ``$n`` takes its value from: a bound parameter's name, the position in
    its list for an expanded ``IN``, and the type's conversion of the value, if any."""

    sql: str
    arguments: tuple[tuple[str, int | None, Callable[[Any], Any] | None], ...]

    def values(self, parameters: dict[str, Any]) -> list[Any]:
        """The ``$n`` values for ``parameters`` (as ``page_rows_query`` gives them)."""
        values = []
        for name, index, convert in self.arguments:
            value = parameters[name] if index is None else parameters[name][index]
            values.append(value if convert is None else convert(value))
        return values


#: ``DriverQuery`` by the shape of ``page_rows_query``'s statement and the length of each
#: list (an ``IN`` has a marker per value, so that a city's partition is chosen at planning
#: time, as for the statement SQLAlchemy sends). Bounded: lists of every length could
#: otherwise fill it.
_DRIVER_QUERIES: dict[tuple[Any, ...], DriverQuery] = {}
_DRIVER_QUERIES_KEPT = 256


def page_driver_query(
    criteria: ObservationFilter, page: PageParams, dialect: Dialect
) -> tuple[DriverQuery, dict[str, Any]]:
    """``page_rows_statement`` for ``criteria`` and ``page`` compiled for the driver (once
    per shape), and the values to run it with."""
    values = criteria.parameters() | keyset_parameters(page, *SORT_KEY)
    shape = (
        criteria.preferred,
        *sorted(values),
        *(len(values[name]) for name in sorted(_LISTS & values.keys())),
    )
    query = _DRIVER_QUERIES.get(shape)
    if query is None:
        # Built for this request, not taken from ``page_rows_query``'s: the number of markers
        # of each IN comes from the values the statement's parameters hold.
        statement = page_rows_statement(criteria, page)
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        processors = compiled._bind_processors
        arguments: list[tuple[str, int | None, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or ():
            convert = processors.get(name)
            converter = convert if callable(convert) else None
            listed, _, position = name.rpartition("_")
            if listed in _LISTS and listed in values and position.isdigit():
                # ``cities_2``: the second value of the expanded ``cities``.
                arguments.append((listed, int(position) - 1, converter))
            else:
                arguments.append((name, None, converter))
        if len(_DRIVER_QUERIES) >= _DRIVER_QUERIES_KEPT:
            _DRIVER_QUERIES.clear()
        query = _DRIVER_QUERIES[shape] = DriverQuery(compiled.string, tuple(arguments))
    return query, values


def _raise_as_sqlalchemy(
    connection: Connection, error: Exception, sql: str, arguments: list[Any]
) -> None:
    """Raise the driver's ``error`` as SQLAlchemy does for a statement of its own: the
    dialect's translation of it, wrapped in ``DBAPIError`` (``connection_invalidated`` when
    the connection was lost, which invalidates it)."""
    dbapi_connection: Any = connection.connection.dbapi_connection
    try:
        dbapi_connection._handle_exception(error)
    except Exception as translated:
        connection._handle_dbapi_exception(translated, sql, tuple(arguments), None, None)


class ObservationRepository(Repository[Observation]):
    model = Observation

    async def page_records(
        self, criteria: ObservationFilter, page: PageParams
    ) -> list[asyncpg.Record]:
        """``page_rows`` as the driver's records, without SQLAlchemy's execution and result
        layers (the list's hot path): the same SQL, on the session's connection, so on its
        replica and in its transaction, if any. Each record holds the columns of
        ``page_rows_statement`` in its order (``schemas.observation_json`` unpacks them),
        ``dimensions`` decoded by the engine's codec, statuses and kinds as text."""
        connection = await self.session.connection()
        query, values = page_driver_query(criteria, page, connection.dialect)
        arguments = query.values(values)
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        try:
            with statement_span(query.sql):
                records: list[asyncpg.Record] = await driver.fetch(query.sql, *arguments)
        except Exception as error:
            # Raised as SQLAlchemy raises it: the same errors reach the problem handlers and
            # the replicas (a read that failed on a replica runs again on the primary), and a
            # lost connection is invalidated, not returned to the pool.
            await connection.run_sync(_raise_as_sqlalchemy, error, query.sql, arguments)
            raise
        return records

    async def page_rows(
        self, criteria: ObservationFilter, page: PageParams
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """A page as ``query`` selects it, as plain rows (``page_rows_statement``)."""
        # Plain columns: run on the session's connection, without the ORM's execution steps.
        connection = await self.session.connection()
        statement, values = page_rows_query(criteria, page)
        rows = await connection.execute(statement, values)
        return rows.all()

    async def row(self, observation_id: int) -> Row[*tuple[Any, ...]] | None:
        """One observation as ``page_rows`` gives it; ``None`` if there is none."""
        connection = await self.session.connection()
        rows = await connection.execute(ROW_STATEMENT, {"observation_id": observation_id})
        return rows.first()

    async def query(
        self, criteria: ObservationFilter, page: PageParams
    ) -> Sequence[Row[Observation, Source]]:
        rows = await self.session.execute(page_statement(criteria, page))
        return rows.all()

    async def with_source(self, observation_id: int) -> Row[Observation, Source] | None:
        rows = await self.session.execute(
            select(Observation, Source)
            .join(Source, Source.id == Observation.source_id)
            .where(Observation.id == observation_id)
        )
        return rows.first()

    async def history(self, observation_id: int, page: PageParams) -> Sequence[ObservationChange]:
        statement = select(ObservationChange).where(
            ObservationChange.observation_id == observation_id
        )
        rows = await self.session.scalars(keyset(statement, page, ObservationChange.id))
        return rows.all()


#: Which geography best represents the city when a figure exists for several.
SCOPE_RANK = case(
    (Observation.scope == "municipality", 0),
    (Observation.scope == "metro", 1),
    (Observation.scope.startswith("district:"), 2),
    (Observation.scope == "governorate", 3),
    (Observation.scope == "region", 4),
    else_=5,
)


async def latest_totals(
    session: AsyncSession,
    *,
    cities: Sequence[str],
    indicators: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    one_per_city: bool = False,
) -> Sequence[Row[Observation, Source]]:
    """The latest total value of each indicator for each city (or the first indicator with one).

    Among figures of the latest period: the city's own scope first, then the most reliable
    source, then the newest entry. With ``one_per_city``, ``indicators`` is an order of
    preference and each city gets the first indicator it has a value for.
    """
    statement = (
        select(Observation, Source)
        .join(Source, Source.id == Observation.source_id)
        .where(
            Observation.city_code.in_(cities),
            Observation.disaggregation == "",
            Observation.value.is_not(None),
        )
    )
    if indicators is not None:
        statement = statement.where(Observation.indicator_code.in_(indicators))
    if start is not None:
        statement = statement.where(Observation.period_start >= start)
    if end is not None:
        statement = statement.where(Observation.period_end <= end)
    preference = (
        Observation.period_end.desc(),
        SCOPE_RANK,
        Source.reliability_rank,
        Observation.updated_at.desc(),
        Observation.id.desc(),
    )
    if one_per_city:
        order = cast(Sequence[str], indicators or [])
        statement = statement.ext(distinct_on(Observation.city_code)).order_by(
            Observation.city_code,
            func.array_position(array(order, type_=String), Observation.indicator_code),
            *preference,
        )
    else:
        statement = statement.ext(
            distinct_on(Observation.city_code, Observation.indicator_code)
        ).order_by(Observation.city_code, Observation.indicator_code, *preference)
    return (await session.execute(statement)).all()


async def largest_theme(session: AsyncSession, criteria: ObservationFilter) -> tuple[str, int]:
    """The theme with the most observations ``criteria`` select, and how many (an XLSX
    export writes a sheet per theme, and a sheet holds 1,048,575 rows below its header)."""
    counted = (
        select(Indicator.theme, func.count())
        .select_from(Observation)
        .join(Indicator, Indicator.code == Observation.indicator_code)
        .group_by(Indicator.theme)
        .order_by(func.count().desc())
        .limit(1)
    )
    if criteria.preferred:
        counted = counted.where(Observation.id.in_(preferred_ids(criteria)))
    else:
        counted = criteria.apply(counted)
    row = (await session.execute(counted)).first()
    return (row[0], row[1]) if row is not None else ("", 0)


async def lock_city_observations(session: AsyncSession, cities: Sequence[str]) -> None:
    """Serialise writers of these cities' observations until the transaction ends.

    Every write of observations (batches, imports, withdrawals) takes these locks, in code
    order so two writers never wait on each other in a cycle; each history row then records
    the value it really replaced. Each city's ``ObservationsVersion`` goes one up, under the
    lock, so the versions follow the order of the writes' commits.
    """
    held = sorted(set(cities))
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtext('profiles.observation:' || city)) "
            "FROM unnest(CAST(:cities AS text[])) AS city ORDER BY city"
        ),
        {"cities": held},
    )
    await session.execute(
        text(
            "INSERT INTO profiles.observations_version AS v (city_code, version) "
            "SELECT city, 1 FROM unnest(CAST(:cities AS text[])) AS city ORDER BY city "
            "ON CONFLICT (city_code) DO UPDATE SET version = v.version + 1"
        ),
        {"cities": held},
    )


#: The catalogue's resources an export shows (names, units, sources' texts and ranks).
EXPORT_CATALOGUE = ("city", "indicator", "source")


async def export_version(session: AsyncSession, cities: Sequence[str] | None) -> tuple[object, ...]:
    """What an export of ``cities``' observations (every city's: ``None``) is a version of:
    each city's ``ObservationsVersion``, and how many changes of the catalogue the audit log
    holds (it only grows, so a committed change always shows). Read before the first byte,
    for the export's weak ``ETag``."""
    versions = select(ObservationsVersion.city_code, ObservationsVersion.version).order_by(
        ObservationsVersion.city_code
    )
    if cities is not None:
        versions = versions.where(ObservationsVersion.city_code.in_(cities))
    audit = audit_log_table.c
    catalogue = await session.scalar(
        select(func.count()).where(audit.resource.in_(EXPORT_CATALOGUE))
    )
    return (tuple(tuple(row) for row in await session.execute(versions)), catalogue)
