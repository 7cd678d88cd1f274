"""Checking incoming observations against the catalogue and the caller's rights.

Every way figures arrive (JSON batch, CSV import, seed) runs each row through one
``ObservationValidator``, which turns it into a staging record or a ``FieldProblem``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.cities.repository import CityRepository
from services.profiles_api.indicators.models import Indicator
from services.profiles_api.indicators.repository import IndicatorRepository
from services.profiles_api.observations.fields import (
    MAX_NOTE_LENGTH,
    FieldProblem,
    ObsStatus,
    Period,
    check_scope,
    check_values,
    disaggregation_key,
)
from services.profiles_api.observations.plausibility import bounds_for
from services.profiles_api.sources.schemas import DEFAULT_RELIABILITY, SourceKind
from shared.auth import Principal
from shared.errors import Forbidden

#: Columns of the staging table, in the order ``StagingRecord`` fills them.
STAGING_COLUMNS = (
    "row_no",
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
    "source_key",
    "note",
)
StagingRecord = tuple[Any, ...]


@dataclass(frozen=True)
class InlineSource:
    """A source named by its title and address, matched or created when the batch applies."""

    title: str
    publisher: str | None
    url: str | None
    kind: SourceKind

    @property
    def identity(self) -> tuple[str, str]:
        return self.title, self.url or ""


@dataclass
class SourceRegistry:
    """Numbers each distinct source a batch names, so rows carry a small key into staging.

    A source is identified by its title and address; the first description of it (kind,
    publisher) is the one used, and each row describing it otherwise earns a note.
    """

    inline: dict[tuple[str, str], tuple[int, InlineSource]] = field(default_factory=dict)
    by_id: dict[int, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    max_notes: int = 100

    def key_for(self, source: InlineSource | int, row_no: int) -> int:
        if isinstance(source, int):
            return self.by_id.setdefault(source, len(self.inline) + len(self.by_id) + 1)
        found = self.inline.get(source.identity)
        if found is None:
            found = (len(self.inline) + len(self.by_id) + 1, source)
            self.inline[source.identity] = found
        elif found[1] is not source and found[1] != source:
            self.note(
                f"row {row_no}: source {source.title!r} is described as "
                f"{_description(source.kind, source.publisher)}; "
                f"{_description(found[1].kind, found[1].publisher)} is used, as first given"
            )
        return found[0]

    def differences(self, source: InlineSource, kind: str, publisher: str | None) -> list[str]:
        """A note if an existing source matched by title and address is described otherwise."""
        if (source.kind.value, source.publisher) in {(kind, publisher), (kind, None)}:
            return []
        return [
            f"source {source.title!r} exists as {_description(kind, publisher)}; it is kept "
            f"(the batch describes it as {_description(source.kind, source.publisher)})"
        ]

    def note(self, text: str) -> None:
        if len(self.notes) < self.max_notes:
            self.notes.append(text)

    @staticmethod
    def default_rank(source: InlineSource) -> int:
        return DEFAULT_RELIABILITY[source.kind]


def _description(kind: str, publisher: str | None) -> str:
    return f"{kind}" + (f" by {publisher}" if publisher else "")


#: How many distinct periods, scopes and breakdowns a validator remembers as checked.
MEMO_SIZE = 10_000


@dataclass
class ObservationValidator:
    """Validates rows for one caller against the cities and indicators that exist.

    A batch repeats few periods, scopes and breakdowns over many rows: each distinct one is
    checked once (bounded memos of what passed; what fails is checked again each time)."""

    principal: Principal
    cities: set[str]
    indicators: Mapping[str, Indicator]
    sources: SourceRegistry = field(default_factory=SourceRegistry)
    forbidden_cities: set[str] = field(default_factory=set)
    _writable: set[str] = field(default_factory=set, repr=False)  # cities checked and allowed
    _periods: dict[str, Period] = field(default_factory=dict, repr=False)
    _scopes: set[str] = field(default_factory=set, repr=False)
    #: (indicator, breakdown text as written) → (its key, its dimensions as JSON)
    _breakdowns: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    async def load(cls, session: AsyncSession, principal: Principal) -> ObservationValidator:
        """A validator for ``principal``; 403 at once for callers who may change no city."""
        if not principal.can_edit_any_city():
            raise Forbidden("Only editors of a city and administrators may write figures.")
        return cls(
            principal=principal,
            cities=await CityRepository.from_session(session).codes(),
            indicators=await IndicatorRepository.from_session(session).definitions_for_writing(),
        )

    def refuse_forbidden_cities(self) -> None:
        """403 naming every city whose data the caller tried to change without the right."""
        if self.forbidden_cities:
            cities = sorted(self.forbidden_cities)
            raise Forbidden(
                f"You may not change data of {', '.join(cities)}: nothing was written.",
                cities=cities,
            )

    def check_city(self, city: str) -> None:
        """The city exists and the caller may change its data (else noted as forbidden)."""
        if city in self._writable:
            return
        if city not in self.cities:
            raise FieldProblem("city", f"unknown city {city!r}")
        if not self.principal.can_edit_city(city):
            self.forbidden_cities.add(city)
            raise FieldProblem("city", f"you may not change data of city {city}")
        self._writable.add(city)

    def record(
        self,
        row_no: int,
        *,
        city: str,
        indicator: str,
        period: str,
        scope: str,
        dimensions: dict[str, str],
        value: float | None,
        value_low: float | None,
        value_high: float | None,
        obs_status: ObsStatus,
        note: str | None,
        source: InlineSource | int,
        breakdown: str | None = None,
    ) -> StagingRecord:
        """The staging record of a valid row; ``FieldProblem`` naming the first bad field.

        ``breakdown``: the text ``dimensions`` were read from, if any; the same text of the
        same indicator then has the same key (remembered rather than worked out again)."""
        self.check_city(city)
        definition = self.indicators.get(indicator)
        if definition is None:
            raise FieldProblem("indicator", f"unknown indicator {indicator!r}")
        parsed = self._periods.get(period)
        if parsed is None:
            parsed = Period.parse(period)
            if len(self._periods) < MEMO_SIZE:
                self._periods[period] = parsed
        if scope not in self._scopes:
            check_scope(scope)
            if len(self._scopes) < MEMO_SIZE:
                self._scopes.add(scope)
        known = None if breakdown is None else self._breakdowns.get((indicator, breakdown))
        if known is None:
            known = (
                disaggregation_key(dimensions, list(definition.dimensions)),
                orjson.dumps(dimensions).decode(),
            )
            if breakdown is not None and len(self._breakdowns) < MEMO_SIZE:
                self._breakdowns[indicator, breakdown] = known
        key, dimensions_json = known
        check_values(
            value,
            value_low,
            value_high,
            obs_status,
            bounds=bounds_for(definition.unit, definition.value_type),
        )
        if note is not None and len(note) > MAX_NOTE_LENGTH:
            raise FieldProblem("note", f"is longer than {MAX_NOTE_LENGTH} characters")
        return (
            row_no,
            city,
            indicator,
            parsed.text,
            parsed.start,
            parsed.end,
            scope,
            key,
            dimensions_json,
            value,
            value_low,
            value_high,
            obs_status.value,
            self.sources.key_for(source, row_no),
            note or None,
        )
