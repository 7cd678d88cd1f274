"""What a ``measures`` evidence link shows of its city's figures: the value at the
recommendation's date (the baseline) and the latest one (the progress since).

The figures are profiles' preferred totals (no breakdown) of the evidence's city and
indicator, read from the profiles API. Baseline and latest are taken from one geographic scope
so that they compare: the municipality when profiles has figures of it, otherwise the scope of
the most recent figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from services.dialogue_api.indicators.profiles import Figure

#: The scope a city's own figures are of; preferred when there are figures of it.
PREFERRED_SCOPE = "municipality"
#: The note of evidence whose figures could not be read.
UNAVAILABLE = "The figures could not be read from the profiles service just now; they are left out."
#: The note of evidence when the dialogue is not told where profiles is.
UNCONFIGURED = "No profiles service is configured to read the figures from; they are left out."


@dataclass(frozen=True)
class EvidenceFigures:
    """The baseline and latest figure of one evidence link, and why one is absent."""

    baseline: Figure | None = None
    latest: Figure | None = None
    note: str | None = None


def _recency(figure: Figure) -> tuple[date, date]:
    return figure.period_end, figure.period_start


def baseline_and_latest(figures: Sequence[Figure], on: date) -> EvidenceFigures:
    """The figure whose period ended last on or before ``on`` (the baseline) and the most
    recent one (the latest) among ``figures`` of one city and indicator."""
    valued = [figure for figure in figures if figure.value is not None]
    if not valued:
        return EvidenceFigures(note="Profiles has no figure of this indicator for this city.")
    scopes = {figure.scope for figure in valued}
    scope = PREFERRED_SCOPE if PREFERRED_SCOPE in scopes else max(valued, key=_recency).scope
    ordered = sorted((figure for figure in valued if figure.scope == scope), key=_recency)
    before = [figure for figure in ordered if figure.period_end <= on]
    if not before:
        return EvidenceFigures(
            latest=ordered[-1],
            note=f"Profiles has no figure of this indicator for this city up to {on.isoformat()}, "
            "the recommendation's date.",
        )
    return EvidenceFigures(baseline=before[-1], latest=ordered[-1])
