"""How to cite an edition: CSL-JSON, BibTeX and a formatted line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.profiles_api.editions.schemas import NETWORK, NETWORK_NAME

#: The series every edition belongs to.
SERIES = "MC2CM City Migration Profiles"


@dataclass(frozen=True)
class Citation:
    """What every format of an edition's citation says."""

    edition_id: str
    city: str
    published_at: datetime
    url: str
    content_hash: str
    #: Today, for a citation read now; none in the citation line a stored report prints.
    accessed: date | None

    @property
    def title(self) -> str:
        return f"City Migration Profile: {self.city}"


def _parts(day: date) -> dict[str, list[list[int]]]:
    return {"date-parts": [[day.year, day.month, day.day]]}


def csl_json(citation: Citation) -> list[dict[str, Any]]:
    """A CSL-JSON item list (CSL 1.0.2 data schema) of one report."""
    item: dict[str, Any] = {
        "id": citation.edition_id,
        "type": "report",
        "title": citation.title,
        "author": [{"literal": NETWORK_NAME}],
        "publisher": NETWORK_NAME,
        "collection-title": SERIES,
        "genre": "City Migration Profile",
        "number": citation.edition_id,
        "version": citation.edition_id,
        "issued": _parts(citation.published_at.date()),
        "URL": citation.url,
        "note": f"SHA-256: {citation.content_hash}",
    }
    if citation.accessed is not None:
        item["accessed"] = _parts(citation.accessed)
    return [item]


def csl_text(citation: Citation) -> str:
    return json.dumps(csl_json(citation), ensure_ascii=False, indent=2) + "\n"


_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
}


def _bibtex_escape(value: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in value)


def bibtex(citation: Citation) -> str:
    """A ``@techreport`` entry keyed by the edition id (biblatex reads ``urldate``)."""
    published = citation.published_at.date()
    fields = {
        "title": citation.title,
        "author": "{" + NETWORK_NAME + "}",
        "institution": NETWORK_NAME,
        "type": "City Migration Profile",
        "number": citation.edition_id,
        "year": str(published.year),
        "date": published.isoformat(),
        "url": citation.url,
        "urldate": citation.accessed.isoformat() if citation.accessed else "",
        "note": f"Edition {citation.edition_id}, SHA-256: {citation.content_hash}",
    }
    lines = [f"@techreport{{{citation.edition_id},"]
    for name, value in fields.items():
        if not value:
            continue
        escaped = value if name in ("url", "author") else _bibtex_escape(value)
        lines.append(f"  {name} = {{{escaped}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def text_line(citation: Citation) -> str:
    """One line, author-date: who, year, title, edition, publisher, URL, hash, access date."""
    published = citation.published_at.date()
    accessed = f"; accessed {citation.accessed.isoformat()}" if citation.accessed else ""
    return (
        f"{NETWORK} ({published.year}). {citation.title}. Edition {citation.edition_id} "
        f"({published.isoformat()}). {NETWORK_NAME}. {citation.url} "
        f"(SHA-256 {citation.content_hash}{accessed}).\n"
    )


def edition_url(base: str, edition_id: str) -> str:
    """The address of an edition under the platform's root ``base`` ("" for a path)."""
    return f"{base.rstrip('/')}/v1/editions/{edition_id}"
