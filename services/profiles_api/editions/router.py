from __future__ import annotations

import asyncio
import enum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response, status

from services.profiles_api.editions import citation, service
from services.profiles_api.editions.schemas import (
    BIBTEX_MEDIA_TYPE,
    CITATION_MEDIA_TYPES,
    CSL_MEDIA_TYPE,
    EDITION_ID_PATTERN,
    TEXT_MEDIA_TYPE,
    CitationFormat,
    EditionChanges,
    EditionIdPath,
    EditionRead,
    EditionSummary,
    WithdrawalCreate,
)
from services.profiles_api.editions.xlsx import edition_xlsx
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import SessionDep
from shared.errors import ProblemError
from shared.i18n import LanguagesDep
from shared.negotiation import preferred_media_type
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page
from shared.params import CityCodePath
from shared.tabular import XLSX_MEDIA_TYPE

router = APIRouter(tags=["editions"])

#: An edition's reads after its withdrawal.
GONE: dict[int | str, dict[str, Any]] = {
    410: {"description": "Withdrawn: the problem names the reason and the successor, if any"}
}


def _etag(content_hash: str) -> str:
    return f'"{content_hash}"'


@router.post(
    "/v1/cities/{code}/editions",
    summary="Publish an edition of a city's profile",
    description="Freezes the profile as the public reads it now: the city, its published "
    "sections in every language, the preferred value of every indicator, period, scope and "
    "breakdown with its source, status and note (small counts suppressed), challenges, "
    "comparability notes, coverage per theme and the network aggregates it compares with. "
    "Stored once as RFC 8785 canonical JSON with its SHA-256; never changed afterwards.",
    status_code=status.HTTP_201_CREATED,
    response_model=EditionSummary,
    responses=problem_responses(401, 403, 404),
)
async def create_edition(
    code: CityCodePath,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> EditionSummary:
    threshold: int = request.app.state.settings.suppression_threshold
    edition = await service.publish_edition(
        session, principal, code, suppression_threshold=threshold
    )
    response.headers["Location"] = f"/v1/editions/{edition.id}"
    response.headers["ETag"] = _etag(edition.content_hash)
    return EditionSummary.of(edition)


@router.get(
    "/v1/cities/{code}/editions",
    summary="List a city's editions",
    description="Newest first; withdrawn editions are listed with their reason (tombstones).",
    response_model=Page[EditionSummary],
    responses=problem_responses(404),
)
async def list_editions(
    code: CityCodePath, session: SessionDep, page: PageDep
) -> Page[EditionSummary]:
    editions = await service.list_editions(session, code, page)
    return build_page(
        editions,
        page,
        key=lambda edition: [edition.year, edition.number],
        item=EditionSummary.of,
    )


class EditionFormat(enum.StrEnum):
    json = "json"
    xlsx = "xlsx"


_EDITION_MEDIA_TYPES = {"application/json": EditionFormat.json, XLSX_MEDIA_TYPE: EditionFormat.xlsx}


@router.get(
    "/v1/editions/{edition_id}",
    summary="Get an edition",
    description="Its metadata and `snapshot`, whose bytes are the stored canonical JSON "
    "(`sha256(snapshot) == content_hash`); the ETag is the content hash.\n\n"
    "**XLSX**: `format=xlsx`, or `Accept: " + XLSX_MEDIA_TYPE + "`, answers the edition's "
    "figures as a spreadsheet built from the snapshot alone: one sheet per theme (a value "
    "column per unit, named by it), `Sources`, and `Notes on data` naming the edition, its "
    "city, date and content hash.",
    response_model=EditionRead,
    responses={
        200: {
            "description": "The edition, as JSON or (`format=xlsx`) its figures as XLSX.",
            "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(404),
        **GONE,
    },
)
async def get_edition(
    edition_id: EditionIdPath,
    request: Request,
    session: SessionDep,
    output_format: Annotated[
        EditionFormat | None,
        Query(alias="format", description="`xlsx` for a spreadsheet; wins over `Accept`."),
    ] = None,
) -> Response:
    edition = await service.get_edition(session, edition_id)
    if output_format is None:
        accept = request.headers.get("accept")
        offered = list(_EDITION_MEDIA_TYPES)
        output_format = _EDITION_MEDIA_TYPES[preferred_media_type(accept, offered)]
    if output_format is EditionFormat.xlsx:
        body = await asyncio.to_thread(edition_xlsx, edition.content, edition.content_hash)
        return Response(
            body,
            media_type=XLSX_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{edition.id}.xlsx"',
                # Another representation of the same content: another tag.
                "ETag": f'"{edition.content_hash}-xlsx"',
                "Vary": "Accept",
            },
        )
    summary = EditionSummary.of(edition).model_dump(mode="json")
    body = orjson.dumps({**summary, "snapshot": orjson.Fragment(edition.content)})
    return Response(
        body,
        media_type="application/json",
        headers={"ETag": _etag(edition.content_hash), "Vary": "Accept"},
    )


@router.post(
    "/v1/editions/{edition_id}/withdrawal",
    summary="Withdraw an edition",
    description="Administrators only, with a reason and optionally the edition replacing it. "
    "The edition stays as a tombstone: its reads answer 410 naming the reason and successor.",
    response_model=EditionSummary,
    responses=problem_responses(401, 403, 404, 409),
)
async def withdraw_edition(
    edition_id: EditionIdPath,
    payload: WithdrawalCreate,
    session: SessionDep,
    principal: AdminPrincipal,
) -> EditionSummary:
    edition = await service.withdraw_edition(session, edition_id, payload)
    summary = EditionSummary.of(edition)
    summary.successor = await service.successor_of(session, edition)
    return summary


SinceQuery = Annotated[
    str,
    Query(
        pattern=EDITION_ID_PATTERN,
        max_length=24,
        description="The earlier edition of the same city.",
        examples=["PTLIS-2026-1"],
    ),
]


@router.get(
    "/v1/editions/{edition_id}/changes",
    summary="What changed between two editions of a city",
    description="Values added, removed or changed (by indicator, period, scope and breakdown), "
    "sections published, withdrawn or rewritten (with the languages whose text differs), and "
    "challenges added, removed or changed, from edition `since` to this one. 422 naming "
    "`since` when it is unknown or of another city.",
    response_model=EditionChanges,
    responses={**problem_responses(404), **GONE},
)
async def edition_changes(
    edition_id: EditionIdPath, since: SinceQuery, session: SessionDep
) -> EditionChanges:
    return await service.edition_changes(session, edition_id, since)


FormatQuery = Annotated[
    CitationFormat | None,
    Query(alias="format", description="Overrides `Accept`: `csl`, `bibtex` or `text`."),
]
_CITATION_CONTENT: dict[str, Any] = {
    CSL_MEDIA_TYPE: {"schema": {"type": "array", "items": {"type": "object"}}},
    BIBTEX_MEDIA_TYPE: {"schema": {"type": "string"}},
    TEXT_MEDIA_TYPE: {"schema": {"type": "string"}},
}


def _citation_format(requested: CitationFormat | None, accept: str | None) -> CitationFormat:
    """``?format=``, else the first of our media types ``Accept`` names (CSL-JSON for none,
    ``*/*`` or ``application/json``); 406 when ``Accept`` names only others."""
    if requested is not None:
        return requested
    if not accept:
        return CitationFormat.csl
    ranges = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
    by_type = {media: name for name, media in CITATION_MEDIA_TYPES.items()}
    for media in ranges:
        if media in by_type:
            return by_type[media]
        if media in ("*/*", "application/*", "application/json"):
            return CitationFormat.csl
        if media == "text/*":
            return CitationFormat.text
    raise ProblemError.of_status(
        406,
        "Not acceptable",
        "A citation is served as " + ", ".join(CITATION_MEDIA_TYPES.values()) + ".",
        accepted=list(CITATION_MEDIA_TYPES.values()),
    )


@router.get(
    "/v1/editions/{edition_id}/citation",
    summary="How to cite an edition",
    description="CSL-JSON (default, `application/vnd.citationstyles.csl+json`), BibTeX "
    "(`application/x-bibtex`) or a formatted line (`text/plain`), by `Accept` or `?format=`: "
    "title, city, network, year, edition id, URL, content hash and the access date (today). "
    "The city's name is in the language of `Accept-Language`.",
    response_class=Response,
    responses={
        200: {"description": "The citation", "content": _CITATION_CONTENT},
        **problem_responses(404),
        **GONE,
        406: {"description": "`Accept` names none of the citation's media types"},
    },
)
async def edition_citation(
    edition_id: EditionIdPath,
    request: Request,
    session: SessionDep,
    languages: LanguagesDep,
    format_: FormatQuery = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    chosen = _citation_format(format_, accept)
    public_url: str | None = request.app.state.settings.public_url
    url = (
        citation.edition_url(public_url, edition_id)
        if public_url
        else str(request.url_for("get_edition", edition_id=edition_id))
    )
    cited = await service.edition_citation(session, edition_id, url=url, languages=languages)
    body = {
        CitationFormat.csl: citation.csl_text,
        CitationFormat.bibtex: citation.bibtex,
        CitationFormat.text: citation.text_line,
    }[chosen](cited)
    media_type = CITATION_MEDIA_TYPES[chosen]
    if chosen is not CitationFormat.csl:
        media_type += "; charset=utf-8"
    return Response(body, media_type=media_type, headers={"Vary": "Accept, Accept-Language"})
