"""An edition as XLSX, from its snapshot alone: its figures laid out as the observations'
XLSX export lays them out (one sheet per theme, ``Sources``, ``Notes on data``), the notes
naming the edition, its city, its date and its content hash.

Only the stored snapshot is read (format ``mc2cm.edition/1``), so the spreadsheet of an
edition never changes, whatever happens to the live figures, sources or catalogue.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import orjson

from services.profiles_api.observations.xlsx import (
    Catalogue,
    IndicatorInfo,
    ObservationWorkbook,
    SourceInfo,
)


def _catalogue(snapshot: dict[str, Any]) -> Catalogue:
    indicators = {
        code: IndicatorInfo(
            name=indicator["names"].get("en") or code,
            theme=indicator["theme"],
            unit=indicator["unit"],
            population_concept=indicator.get("population_concept"),
            description="",
        )
        for code, indicator in snapshot["indicators"].items()
    }
    sources = {
        int(key): SourceInfo(
            id=int(key),
            title=source["title"],
            publisher=source.get("publisher"),
            url=source.get("url"),
            kind=source["kind"],
            reliability_rank=source.get("reliability_rank"),
        )
        for key, source in snapshot["sources"].items()
    }
    return Catalogue(indicators, sources)


def _item(city: str, figure: dict[str, Any], source: SourceInfo) -> dict[str, Any]:
    """A figure of the snapshot as the observations' export reads an observation."""
    return {
        "city": city,
        "indicator": figure["indicator"],
        "period": figure["period"],
        "period_start": date.fromisoformat(figure["period_start"]),
        "period_end": date.fromisoformat(figure["period_end"]),
        "scope": figure["scope"],
        "dimensions": figure["dimensions"],
        "value": figure["value"],
        "value_low": figure["value_low"],
        "value_high": figure["value_high"],
        "obs_status": figure["obs_status"],
        "status": figure["status"],
        "note": figure["note"],
        "source": {
            "id": source.id,
            "title": source.title,
            "publisher": source.publisher,
            "url": source.url,
            "kind": source.kind,
        },
    }


def edition_xlsx(content: str, content_hash: str) -> bytes:
    """The XLSX of the edition whose stored snapshot is ``content``."""
    snapshot = orjson.loads(content)
    edition, city = snapshot["edition"], snapshot["city"]
    catalogue = _catalogue(snapshot)
    notes = [
        ("Edition", f"{edition['id']}, published by {edition['network']}"),
        ("City", f"{city['names'].get('en') or city['code']} ({city['code']})"),
        ("Published at", edition["published_at"]),
        ("Content hash", f"SHA-256 of the edition's canonical JSON: {content_hash}"),
    ]
    buffer = io.BytesIO()
    workbook = ObservationWorkbook(buffer, catalogue, notes)
    workbook.write(
        [
            _item(city["code"], figure, catalogue.sources[int(figure["source"])])
            for figure in snapshot["figures"]
        ]
    )
    workbook.close()
    return buffer.getvalue()
