"""Evidence of an answer: each piece names something that exists, checked before it is kept."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profiles_api.assessments.schemas import Evidence, EvidenceKind
from services.profiles_api.observations.models import Observation
from services.profiles_api.sections.models import Section
from services.profiles_api.sources.models import Source
from shared.errors import ValidationFailed, field_error
from shared.schemas import WebAddress

_URL = TypeAdapter(WebAddress)


async def check_evidence(
    session: AsyncSession, city: str, evidence: list[Evidence]
) -> list[dict[str, str]]:
    """Each piece of evidence names something that exists: a source, one of the city's
    observations or sections, or an http(s) address. Returned as stored."""
    errors: list[dict[str, Any]] = []
    stored: list[dict[str, str]] = []
    for index, item in enumerate(evidence):
        field = f"evidence.{index}.ref"
        ref = item.ref
        if item.kind in (EvidenceKind.source, EvidenceKind.observation):
            if not (ref.isascii() and ref.isdigit()) or not 0 < int(ref) < 2**63:
                errors.append(field_error(field, f"a {item.kind} is named by its id (a number)"))
                continue
            if item.kind is EvidenceKind.source:
                exists = await session.scalar(select(Source.id).where(Source.id == int(ref)))
            else:
                exists = await session.scalar(
                    select(Observation.id).where(
                        Observation.id == int(ref), Observation.city_code == city
                    )
                )
            if exists is None:
                where = "" if item.kind is EvidenceKind.source else f" of {city}"
                errors.append(field_error(field, f"no {item.kind}{where} has id {ref}"))
                continue
            ref = str(int(ref))
        elif item.kind is EvidenceKind.section:
            exists = await session.scalar(
                select(Section.id).where(Section.city_code == city, Section.code == ref)
            )
            if exists is None:
                errors.append(field_error(field, f"{city} has no profile section {ref!r}"))
                continue
        else:
            try:
                ref = str(_URL.validate_python(ref))
            except ValidationError as exc:
                errors.append(field_error(field, exc.errors()[0]["msg"]))
                continue
        stored.append({"kind": item.kind.value, "ref": ref})
    if errors:
        raise ValidationFailed("Invalid evidence.", errors=errors)
    return stored
