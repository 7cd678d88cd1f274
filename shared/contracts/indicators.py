"""How the dialogue refers to a profiles indicator: by its code."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INDICATOR_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"

IndicatorCode = Annotated[
    str,
    Field(
        pattern=INDICATOR_CODE_PATTERN,
        description="The code of an indicator of the profiles catalogue.",
        examples=["foreign_nationals"],
    ),
]
