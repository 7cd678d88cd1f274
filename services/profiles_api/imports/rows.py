"""One row of an import file as a staging record: its cells read, unescaped and checked.

The checks and their order are those of every way figures arrive (``ObservationValidator``),
so a row reports the first field that is wrong, as it always did. A file repeats the same
cities, sources, periods and breakdowns over many rows, so what follows from a cell alone is
worked out once per distinct text (bounded memos; a text that fails is never kept, so every
row repeating it is reported) and a row costs a few lookups besides its numbers.
"""

from __future__ import annotations

import operator
import re

from pydantic import TypeAdapter, ValidationError

from services.profiles_api.observations.fields import (
    FieldProblem,
    ObsStatus,
    ValueStatus,
    parse_dimension_text,
)
from services.profiles_api.observations.validation import (
    InlineSource,
    ObservationValidator,
    StagingRecord,
)
from services.profiles_api.sources.schemas import SourceKind, Text, Title, Url
from shared.tabular import unescape_text
from shared.text import text_problem

#: How many distinct sources, and breakdowns, an import remembers as already checked.
MEMO_SIZE = 10_000
#: Columns of numbers; every other column holds text (unescaped as ``shared.tabular`` says).
_NUMBER_COLUMNS = frozenset({"value", "value_low", "value_high"})
#: A source named in a row obeys the rules of the sources API (``SourceCreate``).
_SOURCE_FIELDS: dict[str, tuple[TypeAdapter[str], str]] = {
    "source_title": (TypeAdapter(Title), "must be at most 500 characters"),
    "source_publisher": (TypeAdapter(Text), "must be at most 500 characters"),
    "source_url": (
        TypeAdapter(Url),
        "must be an http(s) address without spaces, at most 2000 characters",
    ),
}
#: A plain decimal number: what statistics offices publish. Not Python's wider float syntax
#: (``1_000``, ``inf``, ``nan``, ``0x10``), which would let malformed cells through.
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_STATUSES = {status.value: status for status in ObsStatus}
_SHOWN = ValueStatus.shown.value
_NORMAL = ObsStatus.A.value


def _number(column: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    if not _NUMBER.match(text):
        raise FieldProblem(
            column, f"{text!r} is not a number (use a dot for decimals, no thousands separator)"
        )
    return float(text)


def _source_field(column: str, text: str) -> str:
    adapter, rule = _SOURCE_FIELDS[column]
    try:
        return adapter.validate_python(text)
    except ValidationError as exc:
        # A rule of the text itself (a single line: ``shared.text``) says what it found.
        [error] = exc.errors()[:1]
        context = error.get("ctx") or {}
        found = context.get("error")
        raise FieldProblem(column, str(found) if found else rule) from None


def _optional_source_field(column: str, text: str) -> str | None:
    text = text.strip()
    return _source_field(column, text) if text else None


#: The columns a row is read from, in the order ``RowReader.record`` takes them.
_READ = (
    "city",
    "source_id",
    "status",
    "obs_status",
    "indicator",
    "period",
    "scope",
    "dimension",
    "value",
    "value_low",
    "value_high",
    "note",
    "source_title",
    "source_publisher",
    "source_url",
    "source_kind",
)


def _required(column: str, text: str) -> str:
    text = text.strip()
    if not text:
        raise FieldProblem(column, "is required")
    return text


class RowReader:
    """Turns the cells of one row into a staging record through the validator."""

    def __init__(self, header: list[str], validator: ObservationValidator) -> None:
        self.index = {name: position for position, name in enumerate(header)}
        self.width = len(header)
        self.validator = validator
        # Positions of the text columns, to unescape a row that has an apostrophe.
        self.text_positions = [
            position for name, position in self.index.items() if name not in _NUMBER_COLUMNS
        ]
        # Every cell a row is read from at once; a column the file lacks reads as the empty
        # cell added after the row's own (the same as an empty one: optional, or required).
        self.take = operator.itemgetter(*(self.index.get(name, self.width) for name in _READ))
        # Each distinct one checked once (a bounded memo; a row that fails is checked
        # again, and reported).
        self.source_memo: dict[tuple[str, ...], InlineSource] = {}
        self.dimension_memo: dict[str, dict[str, str]] = {}

    def record(self, row_no: int, cells: list[str]) -> StagingRecord:
        if len(cells) != self.width:
            raise FieldProblem("row", f"has {len(cells)} cells where the header has {self.width}")
        joined = "".join(cells)
        # What no text may hold (``shared.text``), as in the JSON APIs: one search per row.
        if text_problem(joined):
            for column, position in self.index.items():
                problem = text_problem(cells[position])
                if problem:
                    raise FieldProblem(column, problem)
        cells = [*cells, ""]
        if "'" in joined:
            # A text cell escaped against spreadsheet formulas by the export
            # (``shared.tabular``) is unescaped; numbers are read as written.
            for position in self.text_positions:
                cells[position] = unescape_text(cells[position])
        (
            city,
            source_id,
            shown,
            status_text,
            indicator,
            period,
            scope,
            breakdown,
            value,
            value_low,
            value_high,
            note,
            *source_texts,
        ) = self.take(cells)
        # The caller's right to the city first: a row of another city is a 403, however
        # else it is wrong.
        city = _required("city", city)
        self.validator.check_city(city)
        # An SDMX-CSV row may name an existing source by its id (``sdmx_rows``).
        source: InlineSource | int = (
            int(source_id)
            if source_id
            else self.source(_required("source_title", source_texts[0]), source_texts)
        )
        shown = shown.strip() or _SHOWN
        if shown != _SHOWN:
            if shown == ValueStatus.suppressed.value:
                raise FieldProblem(
                    "status",
                    "the row's value was suppressed in the export (a small count of a city you "
                    "may not edit): it has no value to import",
                )
            raise FieldProblem("status", f"{shown!r} is not shown or suppressed")
        status_text = status_text.strip() or _NORMAL
        status = _STATUSES.get(status_text)
        if status is None:
            raise FieldProblem(
                "obs_status", f"{status_text!r} is not an SDMX status ({', '.join(ObsStatus)})"
            )
        indicator = _required("indicator", indicator)
        period = _required("period", period)
        scope = _required("scope", scope)
        dimensions = self.dimensions(breakdown)
        return self.validator.record(
            row_no,
            city=city,
            indicator=indicator,
            period=period,
            scope=scope,
            dimensions=dimensions,
            value=_number("value", value),
            value_low=_number("value_low", value_low) if value_low else None,
            value_high=_number("value_high", value_high) if value_high else None,
            obs_status=status,
            note=note.strip() or None,
            source=source,
            breakdown=breakdown,
        )

    def source(self, title_text: str, texts: list[str]) -> InlineSource:
        """The row's inline source (``texts``: its title, publisher, address and kind as
        written), checked as the sources API checks one."""
        memo_key = (title_text, *texts[1:])
        known = self.source_memo.get(memo_key)
        if known is not None:
            return known
        title = _source_field("source_title", title_text)
        publisher = _optional_source_field("source_publisher", texts[1])
        url = _optional_source_field("source_url", texts[2])
        kind_text = texts[3].strip() or SourceKind.other.value
        try:
            kind = SourceKind(kind_text)
        except ValueError:
            raise FieldProblem(
                "source_kind", f"{kind_text!r} is not one of {', '.join(SourceKind)}"
            ) from None
        source = InlineSource(title=title, publisher=publisher, url=url, kind=kind)
        if len(self.source_memo) < MEMO_SIZE:
            self.source_memo[memo_key] = source
        return source

    def dimensions(self, text: str) -> dict[str, str]:
        """The breakdown of a ``dimension`` cell (shared between rows: not to be changed)."""
        known = self.dimension_memo.get(text)
        if known is None:
            known = parse_dimension_text(text)
            if len(self.dimension_memo) < MEMO_SIZE:
                self.dimension_memo[text] = known
        return known
