"""What changed between two editions of one city, read from their snapshots."""

from __future__ import annotations

from typing import Any

from services.profiles_api.editions.schemas import (
    ChallengeChange,
    ChangeKind,
    SectionChange,
    ValueChange,
)

#: What identifies a value in a snapshot: one preferred value per such key.
ValueKey = tuple[str, str, str, str]
#: What a value change compares (the observation's id may differ for the same value).
VALUE_FIELDS = ("value", "value_low", "value_high", "status", "obs_status", "note")
TEXTS = ("title", "narrative")


def _kind(before: object | None, after: object | None) -> ChangeKind:
    if before is None:
        return ChangeKind.added
    return ChangeKind.removed if after is None else ChangeKind.changed


def _values(snapshot: dict[str, Any]) -> dict[ValueKey, dict[str, Any]]:
    values = {}
    for figure in snapshot["figures"]:
        shown = {name: figure[name] for name in VALUE_FIELDS}
        source = snapshot["sources"].get(figure["source"], {})
        shown["source"] = {"id": figure["source"], "title": source.get("title")}
        key = (figure["indicator"], figure["period"], figure["scope"], figure["disaggregation"])
        values[key] = shown
    return values


def value_changes(earlier: dict[str, Any], later: dict[str, Any]) -> list[ValueChange]:
    """Values added, removed or changed (value, range, status, note or source)."""
    before, after = _values(earlier), _values(later)
    return [
        ValueChange(
            change=_kind(before.get(key), after.get(key)),
            indicator=key[0],
            period=key[1],
            scope=key[2],
            disaggregation=key[3],
            before=before.get(key),
            after=after.get(key),
        )
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]


def _languages(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The languages whose title or text differ."""
    differ: set[str] = set()
    for part in TEXTS:
        was, now = (old or {}).get(part, {}), (new or {}).get(part, {})
        differ |= {lang for lang in was.keys() | now.keys() if was.get(lang) != now.get(lang)}
    return sorted(differ)


def section_changes(earlier: dict[str, Any], later: dict[str, Any]) -> list[SectionChange]:
    """Sections published, no longer published, or with another title or text."""
    before = {section["code"]: section for section in earlier["sections"]}
    after = {section["code"]: section for section in later["sections"]}
    changes = []
    for code in sorted(before.keys() | after.keys()):
        old, new = before.get(code), after.get(code)
        languages = _languages(old, new)
        if old is None or new is None or languages:
            changes.append(SectionChange(change=_kind(old, new), code=code, languages=languages))
    return changes


def challenge_changes(earlier: dict[str, Any], later: dict[str, Any]) -> list[ChallengeChange]:
    """Challenges added, removed or changed (theme, kind, text or priority)."""
    before = {challenge["id"]: challenge for challenge in earlier["challenges"]}
    after = {challenge["id"]: challenge for challenge in later["challenges"]}
    return [
        ChallengeChange(
            change=_kind(before.get(key), after.get(key)),
            id=key,
            theme=(after.get(key) or before[key])["theme"],
            before=before.get(key),
            after=after.get(key),
        )
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    ]
