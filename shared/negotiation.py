"""Content negotiation on ``Accept`` for the few reads that answer in more than one format."""

from __future__ import annotations

from collections.abc import Sequence


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def preferred_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """Which of ``offered`` the client prefers by its ``Accept`` header (RFC 9110 §12.5.1).

    Each offered type takes the quality of the most specific range that matches it; the
    highest quality wins, ties and an absent or unmatched header go to the first offered.
    """
    if not accept:
        return offered[0]
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media_range, *parameters = part.split(";")
        media_range = media_range.strip().lower()
        if media_range:
            ranges.append((media_range, _quality(parameters)))
    best, best_quality = offered[0], -1.0
    for media_type in offered:
        kind = media_type.split("/")[0]
        matches = [
            (specificity, quality)
            for media_range, quality in ranges
            for specificity, pattern in ((2, media_type), (1, f"{kind}/*"), (0, "*/*"))
            if media_range == pattern
        ]
        quality = max(matches)[1] if matches else 0.0
        if quality > best_quality:
            best, best_quality = media_type, quality
    return best if best_quality > 0 else offered[0]
