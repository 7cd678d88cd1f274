from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.contracts.themes import THEMES, Theme
from shared.i18n import LanguagesDep
from shared.pagination import Page

router = APIRouter(prefix="/v1/themes", tags=["themes"])


class ThemeRead(BaseModel):
    code: Theme
    name: str
    description: str
    language: str = Field(description="The language `name` and `description` are in.")
    names: dict[str, str]
    descriptions: dict[str, str]


@router.get(
    "", summary="List the themes shared by profiles and dialogue", response_model=Page[ThemeRead]
)
async def list_themes(languages: LanguagesDep) -> Page[ThemeRead]:
    items = []
    for info in THEMES.values():
        name, language = languages.pick(info.names)
        items.append(
            ThemeRead(
                code=info.code,
                name=name or info.code,
                description=languages.text(info.descriptions) or "",
                language=language or "en",
                names=info.names,
                descriptions=info.descriptions,
            )
        )
    return Page[ThemeRead](items=items)  # nine themes: always one page
