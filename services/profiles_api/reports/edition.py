"""An edition's frozen snapshot (``mc2cm.edition/1``) read into the report's document.

The snapshot was frozen as the public reads the profile (suppression applied), so the report
of an edition shows exactly what the edition holds, whoever asks, and never reads live data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.profiles_api.reports.document import (
    DocumentAssessment,
    DocumentChallenge,
    DocumentCity,
    DocumentCoverage,
    DocumentIndicator,
    DocumentScore,
    DocumentSection,
    DocumentSource,
    DocumentValue,
    ReportDocument,
)


def _value(figure: dict[str, Any]) -> DocumentValue:
    return DocumentValue(
        indicator=figure["indicator"],
        period=figure["period"],
        period_start=date.fromisoformat(figure["period_start"]),
        scope=figure["scope"],
        breakdown=figure["dimensions"],
        value=figure["value"],
        value_low=figure["value_low"],
        value_high=figure["value_high"],
        obs_status=figure["obs_status"],
        status=figure["status"],
        # A note may describe a hidden value: it goes with it, as in the live report.
        note=figure["note"] if figure["value"] is not None else None,
        source=int(figure["source"]),
    )


def _key_figures(snapshot: dict[str, Any]) -> list[DocumentValue]:
    """The total of each key figure, in the order the edition lists them."""
    totals = {
        (figure["indicator"], figure["period"], figure["scope"]): figure
        for figure in snapshot["figures"]
        if not figure["dimensions"]
    }
    keys = [(key["indicator"], key["period"], key["scope"]) for key in snapshot["key_figures"]]
    return [_value(totals[key]) for key in keys if key in totals]


def edition_assessment(kept: dict[str, Any]) -> DocumentAssessment:
    """One assessment as the edition keeps it (``editions.snapshot.assessment_json``)."""
    framework = kept["framework"]
    return DocumentAssessment(
        framework=framework["code"],
        version=framework["version"],
        titles=framework["titles"],
        model=framework["model"],
        rankable=framework["rankable"],
        reference_date=date.fromisoformat(kept["reference_date"]),
        scores=[
            DocumentScore(
                level=score["level"],
                code=score["code"],
                parent=score["parent"],
                titles=score["titles"],
                score=score["score"],
                reason=score["reason"],
                answered=score["answered"],
                unknown=score["unknown"],
                not_applicable=score["not_applicable"],
                total=score["total"],
            )
            for score in kept["scores"]
        ],
    )


def edition_document(
    snapshot: dict[str, Any], *, content_hash: str, citation: str
) -> ReportDocument:
    """The report document of an edition: its snapshot, its hash and how to cite it."""
    city = snapshot["city"]
    return ReportDocument(
        city=DocumentCity(code=city["code"], names=city["names"], country=city["country"]),
        generated_at=datetime.fromisoformat(snapshot["edition"]["published_at"]),
        indicators=[
            DocumentIndicator(
                code=code,
                names=indicator["names"],
                theme=indicator["theme"],
                unit=indicator["unit"],
                population_concept=indicator["population_concept"],
            )
            for code, indicator in sorted(snapshot["indicators"].items())
        ],
        figures=_key_figures(snapshot),
        # As the live report's series: every value the edition holds, hidden ones included
        # (the reflections on data count them), missing ones left out.
        series=[
            _value(figure)
            for figure in snapshot["figures"]
            if figure["value"] is not None or figure["status"] == "suppressed"
        ],
        sources=[
            DocumentSource(
                id=int(source_id),
                title=source["title"],
                publisher=source["publisher"],
                url=source["url"],
                kind=source["kind"],
            )
            for source_id, source in snapshot["sources"].items()
        ],
        sections=[
            DocumentSection(
                code=section["code"], titles=section["title"], narratives=section["narrative"]
            )
            for section in snapshot["sections"]
        ],
        challenges=[
            DocumentChallenge(
                theme=challenge["theme"],
                need_type=challenge["need_type"],
                descriptions=challenge["description"],
                priority=challenge["priority"],
            )
            for challenge in snapshot["challenges"]
        ],
        coverage=[
            DocumentCoverage(
                theme=row["theme"],
                indicators=row["indicators"],
                with_data=row["with_data"],
                recent=row["recent"],
            )
            for row in snapshot["coverage"]
        ],
        # Editions published before assessments were kept have none: no section, no error.
        assessments=[edition_assessment(kept) for kept in snapshot.get("assessments", [])],
        edition=snapshot["edition"]["id"],
        content_hash=content_hash,
        citation=citation,
    )
