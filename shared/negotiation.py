"""Content negotiation on ``Accept`` for the few reads that answer in more than one format."""

from __future__ import annotations

from collections.abc import Sequence


def _parameters(parameters: list[str]) -> tuple[float, frozenset[tuple[str, str]]]:
    """A media range's quality, and its other parameters (names lower-cased, values as sent
    without quotes)."""
    quality = 1.0
    others: set[tuple[str, str]] = set()
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if not name:
            continue
        if name == "q":
            try:
                quality = max(0.0, min(1.0, float(value)))
            except ValueError:
                quality = 0.0
        else:
            others.add((name, value))
    return quality, frozenset(others)


def _media_type(text: str) -> tuple[str, frozenset[tuple[str, str]]]:
    """``application/vnd.sdmx.data+csv;version=2.0.0`` as its type and its parameters."""
    media_type, *parameters = text.split(";")
    return media_type.strip().lower(), _parameters(parameters)[1]


def preferred_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """Which of ``offered`` the client prefers by its ``Accept`` header (RFC 9110 §12.5.1).

    Each offered type takes the quality of the most specific range that matches it; the
    highest quality wins, ties and an absent or unmatched header go to the first offered.
    An offered type may have parameters (``application/vnd.sdmx.data+csv;version=2.0.0``):
    a range matches it if the range's parameters that the type declares agree (``…+csv``
    alone matches, ``…+csv;version=1.0.0`` does not; ``charset=`` says nothing against it),
    and a range with parameters is the more specific.
    """
    if not accept:
        return offered[0]
    ranges: list[tuple[str, frozenset[tuple[str, str]], float]] = []
    for part in accept.split(","):
        media_range, *parameters = part.split(";")
        media_range = media_range.strip().lower()
        if media_range:
            quality, others = _parameters(parameters)
            ranges.append((media_range, others, quality))
    best, best_quality = offered[0], -1.0
    for media_type in offered:
        name, own = _media_type(media_type)
        kind = name.split("/")[0]
        declared = {parameter for parameter, _ in own}
        matches = [
            (specificity + len(others), quality)
            for media_range, others, quality in ranges
            for specificity, pattern in ((2, name), (1, f"{kind}/*"), (0, "*/*"))
            # Only the parameters the offered type declares must agree (`version=`); others
            # (`charset=`, `header=`) say nothing against it.
            if media_range == pattern and {(n, v) for n, v in others if n in declared} <= own
        ]
        quality = max(matches)[1] if matches else 0.0
        if quality > best_quality:
            best, best_quality = media_type, quality
    return best if best_quality > 0 else offered[0]
