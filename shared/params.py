"""Path and query parameters that several APIs share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from shared.contracts.cities import CITY_CODE_PATTERN

#: A city code in a URL path, e.g. ``/v1/cities/{code}``.
CityCodePath = Annotated[str, Path(pattern=CITY_CODE_PATTERN, examples=["PTLIS"])]
