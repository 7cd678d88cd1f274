"""A framework version as a document: what ships as YAML and what an admin POSTs, one schema.

A framework is a tree **areas → indicators → questions → options**. Each option has a value on
0-100; a question's score is the value of the option chosen. Each level is combined into its
parent by the rule the document names for it (``scoring``): an arithmetic mean (weights
ignored) or a weighted mean (the items' ``weight``, default 1), over the items that have a
score: missing ones drop out with their weights (COINr's ``a_amean``). A group whose share
of scored items is below its ``min_answered`` has no score ("insufficient data", COINr's
``dat_thresh``).

The schema has exactly these four levels: a key it does not know (a fifth level, a typo) is a
422 naming its JSON pointer, as are the rules pydantic cannot say (``check``): codes that
repeat, weights of a group that sum to nothing.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, Field

from shared.errors import field_error
from shared.i18n import TitleMap
from shared.schemas import InputModel
from shared.text import SINGLE_LINE

#: The languages every title of a framework is given in (the network's three).
FRAMEWORK_LANGUAGES = ("en", "fr", "ar")
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,47}$"
VERSION_PATTERN = r"^[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,4})?$"

Code = Annotated[str, Field(pattern=CODE_PATTERN, examples=["labour_market"])]


def _three_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [tag for tag in FRAMEWORK_LANGUAGES if tag not in value]
    if missing:
        raise ValueError(f"needs a text in {', '.join(missing)} (en, fr and ar are required)")
    return value


#: A title in English, French and Arabic (more languages allowed).
Titles = Annotated[
    TitleMap,
    AfterValidator(_three_languages),
    Field(
        examples=[{"en": "Health", "fr": "Santé", "ar": "الصحة"}],
        json_schema_extra={"required": list(FRAMEWORK_LANGUAGES)},
    ),
]
Weight = Annotated[float, Field(ge=0, le=1000, description="Relative weight; default 1.")]
Note = Annotated[str, Field(min_length=1, max_length=2000)]


class Aggregation(enum.StrEnum):
    """How a level's items are combined into their parent."""

    arithmetic = "arithmetic"  # the mean of the scored items, weights ignored
    weighted = "weighted"  # Σ wᵢxᵢ / Σ wᵢ over the scored items


class LevelRule(InputModel):
    aggregation: Aggregation = Aggregation.arithmetic
    min_answered: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="The share of the group's applicable items that must have a score for the "
        "group to have one (otherwise `null`, insufficient data).",
    )


class Scoring(InputModel):
    """The rule of each level: questions → indicator, indicators → area, areas → overall."""

    indicator: LevelRule = Field(default_factory=LevelRule)
    area: LevelRule = Field(default_factory=LevelRule)
    overall: LevelRule = Field(default_factory=LevelRule)


class Option(InputModel):
    code: Code
    titles: Titles
    value: float = Field(ge=0, le=100, description="The option's score, 0 to 100.")


class Question(InputModel):
    code: Code
    titles: Titles
    weight: Weight = 1
    guidance: TitleMap | None = None
    options: list[Option] = Field(min_length=2, max_length=12)


class Indicator(InputModel):
    code: Code
    titles: Titles
    weight: Weight = 1
    questions: list[Question] = Field(min_length=1, max_length=50)


class Area(InputModel):
    code: Code
    titles: Titles
    weight: Weight = 1
    indicators: list[Indicator] = Field(min_length=1, max_length=50)


class FrameworkDocument(InputModel):
    """A framework version, whole."""

    code: Code
    version: str = Field(pattern=VERSION_PATTERN, examples=["1.0"])
    titles: Titles
    model: Annotated[str, Field(min_length=1, max_length=300), SINGLE_LINE] = Field(
        description="What the framework is modelled on, e.g. `MIPEX 2020 (structure and "
        "scoring only)`."
    )
    licence: Note = Field(description="Licence and credit note: who holds what rights.")
    rankable: bool = Field(
        description="Whether results may be ranked. `false`: shown as profiles side by side, "
        "never as a rank or in score order."
    )
    evidence_required: bool = Field(
        default=True,
        description="Whether an answer scoring above 0 needs at least one piece of evidence.",
    )
    scoring: Scoring = Field(default_factory=Scoring)
    areas: list[Area] = Field(min_length=1, max_length=30)

    def questions(self) -> Iterator[tuple[Area, Indicator, Question]]:
        for area in self.areas:
            for indicator in area.indicators:
                for question in indicator.questions:
                    yield area, indicator, question

    def canonical(self) -> bytes:
        """The document as canonical JSON (sorted keys, defaults written): what is hashed."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def check(document: FrameworkDocument) -> list[dict[str, Any]]:
    """What the schema cannot say, as field errors with their JSON pointers: a code used
    twice (areas, indicators and questions each have codes unique in the framework, options
    in their question), and a group whose weights sum to zero."""
    errors: list[dict[str, Any]] = []
    seen: dict[str, dict[str, str]] = {"area": {}, "indicator": {}, "question": {}}

    def unique(kind: str, code: str, path: str) -> None:
        first = seen[kind].get(code)
        if first is not None:
            errors.append(field_error(f"{path}.code", f"repeats the {kind} code of {first}"))
        else:
            seen[kind][code] = "/" + path.replace(".", "/")

    def weights(items: list[Any], path: str) -> None:
        if sum(item.weight for item in items) <= 0:
            errors.append(field_error(path, "the weights of these items sum to 0"))

    weights(document.areas, "areas")
    for a, area in enumerate(document.areas):
        unique("area", area.code, f"areas.{a}")
        weights(area.indicators, f"areas.{a}.indicators")
        for i, indicator in enumerate(area.indicators):
            unique("indicator", indicator.code, f"areas.{a}.indicators.{i}")
            weights(indicator.questions, f"areas.{a}.indicators.{i}.questions")
            for q, question in enumerate(indicator.questions):
                path = f"areas.{a}.indicators.{i}.questions.{q}"
                unique("question", question.code, path)
                options: set[str] = set()
                for o, option in enumerate(question.options):
                    if option.code in options:
                        errors.append(
                            field_error(f"{path}.options.{o}.code", "repeats an option code")
                        )
                    options.add(option.code)
    return errors
