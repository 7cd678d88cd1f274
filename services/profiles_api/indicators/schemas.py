from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import AfterValidator, BaseModel, Field

from services.profiles_api.indicators.formula import FormulaError, formula_inputs
from shared.contracts.indicators import IndicatorCode
from shared.contracts.themes import Theme
from shared.i18n import LangMap, Languages, TitleMapEn
from shared.schemas import InputModel, PatchModel

if TYPE_CHECKING:
    from services.profiles_api.indicators.models import Indicator

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Unit(enum.StrEnum):
    persons = "persons"
    percent = "percent"
    per_mille = "per_mille"
    count_ = "count"  # trailing underscore: `count` and `index` are str methods
    currency = "currency"
    index_ = "index"
    score = "score"


class ValueType(enum.StrEnum):
    integer = "integer"
    decimal = "decimal"


class Aggregation(enum.StrEnum):
    """How network and regional totals combine the cities' values."""

    sum = "sum"
    mean = "mean"
    weighted_mean = "weighted_mean"
    none = "none"


def _unique(dimensions: list[str]) -> list[str]:
    if len(set(dimensions)) != len(dimensions):
        raise ValueError("each dimension may be listed once")
    return dimensions


def _valid_formula(formula: str | None) -> str | None:
    if formula is not None:
        try:
            formula_inputs(formula)
        except FormulaError as exc:
            raise ValueError(str(exc)) from exc
    return formula


Dimensions = Annotated[
    list[Name],
    AfterValidator(_unique),
    Field(
        max_length=8,
        description="Breakdowns observations may carry, e.g. `sex`, `age_group`, `citizenship`.",
        examples=[["sex", "age_group", "citizenship"]],
        json_schema_extra={"uniqueItems": True},
    ),
]
Formula = Annotated[
    Annotated[str, Field(max_length=500)] | None,
    AfterValidator(_valid_formula),
    Field(
        description="For derived indicators: arithmetic over other indicators' codes.",
        examples=["foreign_nationals / population * 100"],
    ),
]


class IndicatorCreate(InputModel):
    code: IndicatorCode
    names: TitleMapEn = Field(examples=[{"en": "Residents with a foreign nationality"}])
    descriptions: LangMap = Field(default_factory=dict)
    theme: Theme
    unit: Unit
    value_type: ValueType = ValueType.decimal
    population_concept: Name | None = Field(
        default=None,
        description="Who is counted: `citizenship`, `birthplace`, `legal_status`, "
        "`registered_refugee`, `residents`…",
        examples=["citizenship"],
    )
    dimensions: Dimensions = Field(default_factory=list)
    aggregation: Aggregation = Aggregation.none
    formula: Formula = None


class IndicatorUpdate(PatchModel):
    nullable = frozenset({"population_concept", "formula"})

    names: TitleMapEn | None = None
    descriptions: LangMap | None = None
    theme: Theme | None = None
    unit: Unit | None = None
    value_type: ValueType | None = None
    population_concept: Name | None = None
    dimensions: Dimensions | None = None
    aggregation: Aggregation | None = None
    formula: Formula = None


class IndicatorRead(BaseModel):
    code: IndicatorCode
    name: str
    description: str | None
    language: str
    names: LangMap
    descriptions: LangMap
    theme: Theme
    unit: Unit
    value_type: ValueType
    population_concept: str | None
    dimensions: list[str]
    aggregation: Aggregation
    formula: str | None
    inputs: list[str] = Field(description="Indicators the formula reads (empty if not derived).")
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, indicator: Indicator, languages: Languages) -> Self:
        """The indicator's definition, its name and description in the caller's language."""
        name, language = languages.pick(indicator.names)
        return cls(
            code=indicator.code,
            name=name or indicator.code,
            description=languages.text(indicator.descriptions),
            language=language or "en",
            names=indicator.names,
            descriptions=indicator.descriptions,
            theme=Theme(indicator.theme),
            unit=Unit(indicator.unit),
            value_type=ValueType(indicator.value_type),
            population_concept=indicator.population_concept,
            dimensions=list(indicator.dimensions),
            aggregation=Aggregation(indicator.aggregation),
            formula=indicator.formula,
            inputs=formula_inputs(indicator.formula) if indicator.formula else [],
            version=indicator.version,
            updated_at=indicator.updated_at,
        )
