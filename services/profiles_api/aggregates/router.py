from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.profiles_api.aggregates import service
from services.profiles_api.aggregates.repository import AggregateFilter, DerivedFilter, RunFilter
from services.profiles_api.aggregates.schemas import (
    AggregateGroup,
    AggregateRead,
    AggregationRunRead,
    CoverageCell,
    DerivedValueRead,
    RunTrigger,
)
from services.profiles_api.observations.dependencies import ReaderDep
from services.profiles_api.observations.fields import (
    DISAGGREGATION_PATTERN,
    MAX_KEY_LENGTH,
    PERIOD_PATTERN,
    SCOPE_PATTERN,
    FieldProblem,
    parse_dimension_text,
)
from services.profiles_api.observations.query import parse_period_bound, split_values
from shared.auth import AdminPrincipal
from shared.contracts.cities import Region
from shared.contracts.themes import Theme
from shared.db import SessionDep
from shared.errors import ValidationFailed, invalid
from shared.openapi import problem_responses
from shared.pagination import Page, PageDep, build_page

router = APIRouter(tags=["aggregates"])

IndicatorCodes = Annotated[
    list[str] | None,
    Query(
        description="Indicator codes (comma-separated or repeated).",
        examples=["foreign_nationals"],
    ),
]
CityCodes = Annotated[
    list[str] | None,
    Query(description="City codes (comma-separated or repeated).", examples=["ESMAD,ITTRN"]),
]
ExactPeriod = Annotated[
    str | None,
    Query(pattern=PERIOD_PATTERN, description="Exactly this period.", examples=["2022"]),
]
Scope = Annotated[str | None, Query(pattern=SCOPE_PATTERN, examples=["municipality"])]
Disaggregation = Annotated[
    str | None,
    Query(
        max_length=MAX_KEY_LENGTH,
        pattern=DISAGGREGATION_PATTERN,
        description="A breakdown, e.g. `sex=F` or `citizenship=SY;sex=F` (in any order); "
        "empty (`disaggregation=`) for totals only.",
        examples=["sex=F"],
    ),
]


def parse_disaggregation(value: str | None) -> str | None:
    """The normalised key of a breakdown given in a query (names sorted); 422 if malformed."""
    if value is None:
        return None
    try:
        dimensions = parse_dimension_text(value)
    except FieldProblem as problem:
        raise invalid("disaggregation", problem.message, location="query") from problem
    if any(not name or not code for name, code in dimensions.items()):
        raise invalid("disaggregation", f"{value!r} is not name=value", location="query")
    return ";".join(f"{name}={dimensions[name]}" for name in sorted(dimensions))


def exact_period(value: str | None) -> str | None:
    """The period given in ``period``, checked to be a real one (422 naming it if not)."""
    parsed = parse_period_bound("period", value)
    return parsed.text if parsed else None


def _as_parameter(problem: FieldProblem) -> ValidationFailed:
    """A service's problem with a code, as a 422 naming the query parameter."""
    return invalid(problem.field, problem.message, location="query")


@router.get(
    "/v1/aggregates",
    summary="Network and regional aggregates",
    description="Each indicator's figures combined across the network and each region, per "
    "period, scope and breakdown, by the indicator's rule (`sum`, `mean`, `weighted_mean` by "
    "population; `none` is never aggregated). Each city counts once, with its preferred "
    "published value (best source, then newest) or else its derived value. The worker "
    "recomputes an indicator a few seconds after its figures stop changing; `computed_at` "
    "says when.",
    response_model=Page[AggregateRead],
    responses=problem_responses(),
)
async def list_aggregates(
    session: SessionDep,
    page: PageDep,
    reader: ReaderDep,
    indicator: IndicatorCodes = None,
    period: ExactPeriod = None,
    group: Annotated[
        AggregateGroup | None,
        Query(description="The network, or regions (all, or the one named by `region`)."),
    ] = None,
    region: Annotated[
        Region | None,
        Query(description="One region (implies `group=region`; with `group=network`, 422)."),
    ] = None,
    scope: Scope = None,
    disaggregation: Disaggregation = None,
) -> Page[AggregateRead]:
    if group is AggregateGroup.network and region is not None:
        raise invalid(
            "region", "the network aggregate has no region: drop one of them", location="query"
        )
    criteria = AggregateFilter(
        indicators=split_values(indicator),
        period=exact_period(period),
        group=AggregateGroup.region if region is not None else group,
        region=region,
        scope=scope,
        disaggregation=parse_disaggregation(disaggregation),
    )
    try:
        return await service.list_aggregates(session, reader, criteria, page)
    except FieldProblem as problem:
        raise _as_parameter(problem) from problem


@router.get(
    "/v1/derived-values",
    summary="Values of derived indicators",
    description="Per city, period, scope and breakdown: the indicator's formula over its "
    "inputs' preferred values, with the inputs read (indicator, value, observation). Computed "
    "where every input has a value for the same figure; a division by zero gives no value. "
    "Published observations of a derived indicator are kept apart, in `/v1/observations`.",
    response_model=Page[DerivedValueRead],
    responses=problem_responses(),
)
async def list_derived_values(
    session: SessionDep,
    page: PageDep,
    reader: ReaderDep,
    indicator: Annotated[
        list[str] | None,
        Query(
            description="Derived indicator codes (comma-separated or repeated).",
            examples=["foreign_nationals_share"],
        ),
    ] = None,
    city: CityCodes = None,
    period: ExactPeriod = None,
    scope: Scope = None,
    disaggregation: Disaggregation = None,
) -> Page[DerivedValueRead]:
    criteria = DerivedFilter(
        indicators=split_values(indicator),
        cities=split_values(city),
        period=exact_period(period),
        scope=scope,
        disaggregation=parse_disaggregation(disaggregation),
    )
    try:
        return await service.list_derived_values(session, reader, criteria, page)
    except FieldProblem as problem:
        raise _as_parameter(problem) from problem


@router.get(
    "/v1/coverage",
    summary="Data coverage of the cities by theme",
    description="One cell per city and theme: the theme's indicators in the catalogue, how "
    "many the city has a published value for, and how many with a period ending in the last "
    "5 years. Kept by the worker after every change and refreshed nightly.",
    response_model=Page[CoverageCell],
    responses=problem_responses(),
)
async def coverage_matrix(
    session: SessionDep,
    page: PageDep,
    city: CityCodes = None,
    theme: Annotated[Theme | None, Query(examples=["demography"])] = None,
) -> Page[CoverageCell]:
    try:
        cells = await service.coverage_matrix(session, page, cities=split_values(city), theme=theme)
    except FieldProblem as problem:
        raise _as_parameter(problem) from problem
    return build_page(
        cells, page, key=lambda cell: [cell.city_code, cell.theme], item=CoverageCell.of
    )


@router.get(
    "/v1/aggregation-runs",
    summary="The worker's recomputations of derived values and aggregates",
    description="Admins only. The run log of the last 30 days, the latest first: each "
    "recomputation of an indicator (or, indicator null, of the coverage matrix at the end of "
    "a full refresh), what started it, when the change it answers was made, when it ran, the "
    "rows it wrote, and for a failed one its `error`. A failed indicator keeps its previous "
    "values and is tried again; the other indicators are not held up by it.",
    response_model=Page[AggregationRunRead],
    responses=problem_responses(401, 403),
)
async def list_aggregation_runs(
    session: SessionDep,
    page: PageDep,
    principal: AdminPrincipal,
    indicator: IndicatorCodes = None,
    trigger: Annotated[
        RunTrigger | None, Query(description="Only runs started so.", examples=["change"])
    ] = None,
    failed: Annotated[
        bool | None,
        Query(description="`true`: only failed runs; `false`: only those that succeeded."),
    ] = None,
) -> Page[AggregationRunRead]:
    criteria = RunFilter(indicators=split_values(indicator), trigger=trigger, failed=failed)
    runs = await service.list_runs(session, criteria, page)
    return build_page(runs, page, key=lambda run: [run.id], item=AggregationRunRead.of)
