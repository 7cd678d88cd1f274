"""Multilingual text: language maps, ``Accept-Language`` negotiation, English fallback."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated

from babel import negotiate_locale
from fastapi import Depends, Header, Response
from pydantic import AfterValidator, Field

from shared.text import SINGLE_LINE_NOT_BLANK_PATTERN, line_problem

DEFAULT_LANGUAGE = "en"
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
_LANGUAGE_TAG = re.compile(LANGUAGE_TAG_PATTERN)

#: The longest language tag the platform stores (its columns are ``varchar(16)``).
MAX_LANGUAGE_TAG_LENGTH = 16
#: A language tag (RFC 5646, lower-case primary subtag), e.g. ``fr`` or ``pt-BR``.
LanguageTag = Annotated[
    str,
    Field(pattern=LANGUAGE_TAG_PATTERN, max_length=MAX_LANGUAGE_TAG_LENGTH, examples=["fr"]),
]


def _each_language_once(tags: list[str]) -> list[str]:
    # Language tags are case-insensitive (RFC 5646): `pt-BR` and `pt-br` are one language.
    if len({tag.lower() for tag in tags}) != len(tags):
        raise ValueError("lists a language twice")
    return tags


#: Languages someone works in or something is offered in, each once.
LanguageList = Annotated[
    list[LanguageTag],
    Field(max_length=20, examples=[["en", "fr", "ar"]], json_schema_extra={"uniqueItems": True}),
    AfterValidator(_each_language_once),
]


def _check_language_map(value: dict[str, str]) -> dict[str, str]:
    for tag, text in value.items():
        if not _LANGUAGE_TAG.match(tag):
            raise ValueError(f"{tag!r} is not a language tag such as 'en', 'fr' or 'ar'")
        if not text.strip():
            raise ValueError(f"the {tag!r} text is empty")
    return value


def _require_english(value: dict[str, str]) -> dict[str, str]:
    if DEFAULT_LANGUAGE not in value:
        raise ValueError("an English ('en') text is required; it is the fallback for every reader")
    return value


#: Text by language tag, e.g. ``{"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa"}``: narrative,
#: descriptions, anything that may run over several lines (names and titles: ``TitleMap``).
LangMap = Annotated[
    dict[str, str],
    AfterValidator(_check_language_map),
    Field(
        examples=[{"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa"}],
        # What `_check_language_map` checks, so that clients and fuzzers know it too.
        json_schema_extra={
            "propertyNames": {"pattern": LANGUAGE_TAG_PATTERN},
            "additionalProperties": {"type": "string", "pattern": r"\S"},
        },
    ),
]
#: A language map that must hold English, the fallback every reader can get.
LangMapEn = Annotated[
    LangMap, AfterValidator(_require_english), Field(json_schema_extra={"required": ["en"]})
]


def _check_title_map(value: dict[str, str]) -> dict[str, str]:
    for tag, text in value.items():
        problem = line_problem(text)
        if problem:
            raise ValueError(f"the {tag!r} text {problem}")
    return value


#: Names and titles by language tag: each text one line (``shared.text``), not blank.
TitleMap = Annotated[
    dict[str, str],
    AfterValidator(_check_language_map),
    AfterValidator(_check_title_map),
    Field(
        examples=[{"en": "Lisbon", "fr": "Lisbonne", "pt": "Lisboa"}],
        json_schema_extra={
            "propertyNames": {"pattern": LANGUAGE_TAG_PATTERN},
            "additionalProperties": {"type": "string", "pattern": SINGLE_LINE_NOT_BLANK_PATTERN},
        },
    ),
]
#: Names and titles that must hold English.
TitleMapEn = Annotated[
    TitleMap, AfterValidator(_require_english), Field(json_schema_extra={"required": ["en"]})
]


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags from an ``Accept-Language`` header, best first (RFC 9110 §12.5.4)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, raw = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(preferred: Iterable[str], offered: Collection[str]) -> str | None:
    """The first of ``preferred`` (best first) that ``offered`` has, as ``offered`` spells it.

    Babel's ``negotiate_locale`` matches a tag exactly (case-insensitively: RFC 5646) or by
    its language (``fr-CA`` finds ``fr``); a bare language also finds one of its regional
    variants (``pt`` finds ``pt-BR``, the first by name when several are offered), which
    Babel does only through its aliases (``pt`` → ``pt_PT``)."""
    by_tag = {tag.lower(): tag for tag in offered}
    variants = sorted(offered)
    for tag in preferred:
        found = negotiate_locale([tag], list(offered), sep="-", aliases={})
        if found is None:
            found = next((o for o in variants if o.split("-")[0].lower() == tag.lower()), None)
        if found is not None:
            return by_tag[found.lower()]
    return None


class Languages(tuple[str, ...]):
    """The caller's preferred languages, best first, always ending with English."""

    __slots__ = ()

    @classmethod
    def from_header(cls, header: str | None) -> Languages:
        tags: list[str] = []
        for tag in parse_accept_language(header):
            for candidate in (tag, tag.split("-")[0]):
                if candidate not in tags:
                    tags.append(candidate)
        if DEFAULT_LANGUAGE not in tags:
            tags.append(DEFAULT_LANGUAGE)
        return cls(tags)

    def negotiate(self, offered: Collection[str]) -> str | None:
        """The best of ``offered`` for this caller, as ``offered`` spells it; ``None`` if none
        fits (``negotiate``)."""
        return negotiate(self, offered)

    def pick(self, texts: Mapping[str, str] | None) -> tuple[str | None, str | None]:
        """The text in the best language available and that language; English as fallback."""
        if not texts:
            return None, None
        stored = negotiate(self, texts)
        if stored is not None:
            return texts[stored], stored
        first = next(iter(sorted(texts)))
        return texts[first], first

    def text(self, texts: Mapping[str, str] | None) -> str | None:
        return self.pick(texts)[0]


def accept_languages(
    response: Response,
    accept_language: Annotated[
        str | None,
        Header(description="Languages for names and narrative, e.g. `fr, en;q=0.8`."),
    ] = None,
) -> Languages:
    """FastAPI dependency: the caller's languages. The response says it varies by them."""
    # Without it a shared cache would serve one caller's French to the next caller.
    varies = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if "accept-language" not in {v.lower() for v in varies}:
        response.headers["Vary"] = ", ".join([*varies, "Accept-Language"])
    return Languages.from_header(accept_language)


LanguagesDep = Annotated[Languages, Depends(accept_languages)]
