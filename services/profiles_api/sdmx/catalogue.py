"""The catalogue as SDMX sees it: the components of ``MC2CM:CITY_MIGRATION`` and their codes.

The data structure has fixed components (``REF_AREA``, ``INDICATOR``, ``SCOPE``,
``TIME_PERIOD``, the measure and the attributes) and one dimension per breakdown the
catalogue's indicators declare (``sex`` is ``SEX``). A breakdown an indicator does not declare
reads ``_Z`` (not applicable), a declared one an observation does not break down by ``_T``
(total), as SDMX's cross-domain code lists use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AGENCY = "MC2CM"
DATAFLOW = "CITY_MIGRATION"
DATAFLOW_VERSION = "1.0"
STRUCTURE_ID = f"{AGENCY}:{DATAFLOW}({DATAFLOW_VERSION})"
DSD = "DSD_CITY_MIGRATION"
CONCEPTS = "CS_CITY_MIGRATION"
TOTAL = "_T"
NOT_APPLICABLE = "_Z"
#: SDMX's code of a confidential value (CL_CONF_STATUS), and of a free one.
CONFIDENTIAL = "C"
FREE = "F"

#: The text a ``SCOPE`` takes, and a breakdown dimension's, as XML Schema patterns (anchored
#: by the definition of a pattern facet). Their codes are not SDMX ids (``district:…``,
#: ``65+``), so these dimensions are typed by pattern, not by code list (decisions: SDMX);
#: ``observations.fields`` has the same rules (a test checks that the two agree).
SCOPE_FACET = "(municipality|metro|governorate|region|country|district:[A-Za-z0-9_\\-]{1,48})"
BREAKDOWN_FACET = "(_T|_Z|[A-Za-z0-9_.+<>\\-]{1,64})"
#: The longest ``COMMENT`` (an observation's note).
COMMENT_LENGTH = 2000

#: The components every structure has, in the order SDMX-CSV writes them.
KEY_BEFORE_BREAKDOWNS = ("REF_AREA", "INDICATOR", "SCOPE")
MEASURE = "OBS_VALUE"
ATTRIBUTES = (
    "OBS_STATUS",
    "UNIT_MEASURE",
    "SOURCE",
    "OBS_VALUE_LOW",
    "OBS_VALUE_HIGH",
    "COMMENT",
    "CONF_STATUS",
)
CSV_LEADING = ("STRUCTURE", "STRUCTURE_ID", "ACTION")
RESERVED = frozenset((*CSV_LEADING, *KEY_BEFORE_BREAKDOWNS, "TIME_PERIOD", MEASURE, *ATTRIBUTES))


def breakdown_id(name: str) -> str:
    """The dimension of breakdown ``name``: ``SEX`` for ``sex``; ``BREAKDOWN_INDICATOR`` for a
    breakdown named like a fixed component (``indicator``)."""
    upper = name.upper()
    return f"BREAKDOWN_{upper}" if upper in RESERVED or upper.startswith("BREAKDOWN_") else upper


@dataclass(frozen=True)
class IndicatorEntry:
    code: str
    names: dict[str, str]
    unit: str
    breakdowns: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """What the structure is generated from, and its version."""

    cities: dict[str, dict[str, str]]
    indicators: dict[str, IndicatorEntry]
    #: Every breakdown some indicator declares, by name.
    breakdowns: tuple[str, ...]
    last_change: datetime | None

    @property
    def version(self) -> str:
        """The codelists' and the data structure's version: ``1.0.<seconds since 1970 of the
        catalogue's last change>`` (decisions: SDMX)."""
        seconds = int(self.last_change.timestamp()) if self.last_change else 0
        return f"1.0.{seconds}"

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions' ids, in order (``TIME_PERIOD`` last)."""
        return (
            *KEY_BEFORE_BREAKDOWNS,
            *(breakdown_id(name) for name in self.breakdowns),
            "TIME_PERIOD",
        )

    @property
    def csv_columns(self) -> tuple[str, ...]:
        return (*CSV_LEADING, *self.dimensions, MEASURE, *ATTRIBUTES)

    def breakdown_cells(self, indicator: str, dimensions: dict[str, str]) -> list[str]:
        """The breakdown dimensions' codes of an observation."""
        entry = self.indicators.get(indicator)
        declared = entry.breakdowns if entry else ()
        return [
            dimensions.get(name, TOTAL)
            if name in declared or name in dimensions
            else NOT_APPLICABLE
            for name in self.breakdowns
        ]
