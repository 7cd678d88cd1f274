"""How the dialogue refers to a profiles indicator: by its code."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

INDICATOR_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"

IndicatorCode = Annotated[
    str,
    Field(
        pattern=INDICATOR_CODE_PATTERN,
        description="The code of an indicator of the profiles catalogue.",
        examples=["foreign_nationals"],
    ),
]


class IndicatorRef(BaseModel):
    """What another service keeps of an indicator of the catalogue (the dialogue's read
    model): its code, names (language map) and unit."""

    model_config = ConfigDict(frozen=True)

    code: IndicatorCode
    names: dict[str, str]
    unit: str
