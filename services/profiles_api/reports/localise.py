"""One report language: its texts picked from language maps, numbers and dates by Babel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from services.profiles_api.compare.schemas import ComparabilityWarning, WarningKind
from services.profiles_api.reports.labels import RTL_LANGUAGES, has_label, label
from shared.i18n import Languages


@dataclass(frozen=True)
class Picked:
    """A text in the language it was found in; ``fallback`` when that is not the report's."""

    text: str
    language: str
    fallback: bool


#: Dimensions whose values are ISO 3166 country codes.
COUNTRY_DIMENSIONS = frozenset({"citizenship", "country_of_birth", "birth_country", "nationality"})


def _territory(language: str, code: str) -> str | None:
    """The country ``code`` names, in ``language`` (Babel's CLDR names)."""
    name: str | None = Locale.parse(language).territories.get(code.upper())
    return name


@dataclass(frozen=True)
class Localiser:
    language: str

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RTL_LANGUAGES else "ltr"

    def label(self, key: str, **values: object) -> str:
        return label(key, self.language, **values)

    def pick(self, texts: Mapping[str, str] | None, default: str = "") -> Picked:
        """The text in the report's language, else by the API's fallback chain (English)."""
        text, found = Languages((self.language, "en")).pick(texts)
        if text is None or found is None:
            return Picked(default, self.language, fallback=False)
        return Picked(text, found, fallback=found.split("-")[0] != self.language)

    def text(self, texts: Mapping[str, str] | None, default: str = "") -> str:
        return self.pick(texts, default).text

    def breakdown(self, name: str, value: str) -> str:
        """One part of a breakdown as a reader says it: "Citizenship: Syria", "Sex: female".
        Countries are named by Babel in the language (``citizenship=SY``); SDMX's reserved
        codes and the sexes by the report's labels; other values as they are coded."""
        heading = self.label(f"dimension_{name}") if has_label(f"dimension_{name}") else name
        if name in COUNTRY_DIMENSIONS and (country := _territory(self.language, value)):
            return f"{heading}{self.label('colon')}{country}"
        key = f"code_{name}_{value}" if has_label(f"code_{name}_{value}") else f"code_{value}"
        shown = self.label(key) if has_label(key) else value
        return f"{heading}{self.label('colon')}{shown}"

    def language_name(self, tag: str) -> str:
        """``tag``'s name in the report's language (``English``, ``anglais``, ``الإنجليزية``)."""
        try:
            return Locale.parse(tag.replace("-", "_")).get_display_name(self.language) or tag
        except (ValueError, LookupError):
            return tag

    def fallback_note(self, picked: Picked) -> str:
        return self.label("fallback", shown=self.language_name(picked.language))

    def number(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0.##", locale=self.language)

    def date(self, day: date) -> str:
        return format_date(day, format="long", locale=self.language)

    def period(self, period: str) -> str:
        """A full-date period as a date of the locale; years, quarters and months as given."""
        if len(period) == 10:
            try:
                return self.date(date.fromisoformat(period))
            except ValueError:
                return period
        return period

    def unit(self, unit: str) -> str:
        return self.label(unit)

    def comparability_warning(self, warning: ComparabilityWarning) -> str:
        """A comparison's warning said in the report's language, from its kind, cities and
        values (its ``detail`` is English only)."""
        separator = self.label("list_separator")
        if warning.kind is WarningKind.estimate:
            return self.label("estimates_warning", cities=separator.join(warning.cities))
        if warning.kind is WarningKind.missing:
            return self.label("missing_warning", cities=separator.join(warning.cities))
        parts = self.label("group_separator").join(
            f"{self._warning_value(warning.kind, value)}{self.label('colon')}"
            f"{separator.join(cities)}"
            for value, cities in warning.values.items()
        )
        return self.label("differs", aspect=self.label(f"aspect_{warning.kind.value}"), parts=parts)

    def _warning_value(self, kind: WarningKind, value: str) -> str:
        if value == "unspecified":
            return self.label("unspecified")
        if kind is WarningKind.unit and has_label(value):
            return self.unit(value)
        if kind is WarningKind.scope and has_label(f"scope_{value}"):
            return self.label(f"scope_{value}")
        return value
