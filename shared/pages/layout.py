"""A public page's language, its links and its rendering through the shared layout.

Pages live at the platform's root, where the proxy and the Ingress route them (``/``,
``/cities/…``, ``/compare`` to profiles, ``/events`` to dialogue), so links between pages are
plain paths; where each service is at an address of its own (``make dev``: one port each),
``MC2CM_PROFILES_PAGES_URL`` and ``MC2CM_DIALOGUE_PAGES_URL`` say where. The JSON a page was
built from is the API's, under the service's root path (``/profiles/v1/…`` behind the
proxy), so those links carry the request's root path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from shared.i18n import LANGUAGE_TAG_PATTERN, Languages
from shared.openapi import problem_responses
from shared.pages.labels import (
    LANGUAGE_NAMES,
    LAYOUT_LABELS,
    PAGE_LANGUAGES,
    RTL_LANGUAGES,
    Labels,
    lookup,
)
from shared.routing import route_path

HTML_MEDIA_TYPE = "text/html"

#: ``?lang=`` of every page: it overrides ``Accept-Language``.
PageLangQuery = Annotated[
    str | None,
    Query(
        pattern=LANGUAGE_TAG_PATTERN,
        max_length=16,
        description="The page's language (`en`, `fr` or `ar`); overrides `Accept-Language`.",
        examples=["ar"],
    ),
]


def page_language(lang: str | None, languages: Languages) -> str:
    """``?lang=`` first, then the caller's ``Accept-Language``; English otherwise."""
    chosen = Languages.from_header(lang) if lang else languages
    return chosen.negotiate(PAGE_LANGUAGES) or "en"


def page_responses(example: str, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a page route: its HTML, and the errors it answers as problems."""
    return {
        200: {
            "description": "The page, as HTML.",
            "content": {HTML_MEDIA_TYPE: {"schema": {"type": "string"}, "example": example}},
        },
        **problem_responses(*statuses),
    }


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    current: bool = False
    language: str | None = None


@dataclass(frozen=True)
class Page:
    """What the layout needs to know of one page: its language, where it is, the section of
    the site it belongs to, and the JSON it was built from."""

    language: str
    path: str
    query: tuple[tuple[str, str], ...]
    root: str
    section: str
    labels: tuple[Labels, ...]
    json: list[Link] = field(default_factory=list)
    #: Pages about the same subject (a city's profile and its editions).
    related: list[Link] = field(default_factory=list)
    #: Where the dialogue's pages (``/events``) and the profiles' (the others) are, when not
    #: at this address's root.
    dialogue_site: str = ""
    profiles_site: str = ""

    @classmethod
    def of(
        cls, request: Request, language: str, *, section: str, labels: Sequence[Labels] = ()
    ) -> Page:
        """The page ``request`` asks for, in ``language``, in the site's ``section``."""
        query = tuple((name, value) for name, value in request.query_params.multi_items())
        settings = request.app.state.settings
        return cls(
            language=language,
            path=route_path(request.scope),
            query=tuple(item for item in query if item[0] != "lang"),
            root=str(request.scope.get("root_path", "")).rstrip("/"),
            section=section,
            labels=(*labels, LAYOUT_LABELS),
            dialogue_site=(settings.dialogue_pages_url or "").rstrip("/"),
            profiles_site=(settings.profiles_pages_url or "").rstrip("/"),
        )

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RTL_LANGUAGES else "ltr"

    def label(self, key: str, **values: object) -> str:
        return lookup(self.labels, key, self.language, **values)

    def href(self, path: str, *params: tuple[str, str]) -> str:
        """A page's address with its query, in this page's language."""
        site = self.dialogue_site if path.startswith("/events") else self.profiles_site
        return f"{site}{path}?{urlencode([*params, ('lang', self.language)])}"

    def api(self, path: str, *params: tuple[str, str]) -> str:
        """The path of an API resource of this service (under its root path)."""
        return self.root + path + (f"?{urlencode(list(params))}" if params else "")

    def built_from(self, *links: Link) -> Page:
        """This page, naming the JSON documents it was built from."""
        return replace(self, json=[*self.json, *links])

    def with_related(self, *links: Link) -> Page:
        """This page, linking to pages about the same subject."""
        return replace(self, related=[*self.related, *links])

    def nav(self) -> list[Link]:
        return [
            Link(self.href("/"), self.label("nav_cities"), self.section == "cities"),
            Link(self.href("/compare"), self.label("nav_compare"), self.section == "compare"),
            Link(self.href("/events"), self.label("nav_events"), self.section == "events"),
        ]

    def languages(self) -> list[Link]:
        """This page in each language."""
        return [
            Link(
                f"{self.path}?{urlencode([*self.query, ('lang', tag)])}",
                LANGUAGE_NAMES[tag],
                tag == self.language,
                tag,
            )
            for tag in PAGE_LANGUAGES
        ]

    # Numbers and dates as the page's locale writes them (Babel).

    def number(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0.##", locale=self.language)

    def date(self, day: dt.date) -> str:
        return format_date(day, format="long", locale=self.language)

    def period(self, period: str | None) -> str:
        """A full-date period as the locale writes a date; years, quarters, months as given."""
        if period and len(period) == 10:
            try:
                return self.date(dt.date.fromisoformat(period))
            except ValueError:
                return period
        return period or ""

    def time(self, moment: dt.datetime) -> str:
        """The time of day of ``moment`` (already in the zone it is shown in)."""
        return format_time(moment, format="short", locale=self.language)

    def month(self, day: dt.date) -> str:
        """``December 2026`` in the page's language (the month's stand-alone name)."""
        return format_date(day, format="LLLL y", locale=self.language)

    def text(self, texts: Mapping[str, str] | None, default: str = "") -> str:
        """A language map's text in the page's language, else by the API's fallback chain."""
        found = Languages((self.language, "en")).text(texts)
        return found if found is not None else default


class PageEnvironment:
    """The templates of one service's pages, which extend the shared layout."""

    def __init__(self, package: str) -> None:
        self.environment = Environment(
            loader=ChoiceLoader(
                [PackageLoader(package, "templates"), PackageLoader("shared.pages", "templates")]
            ),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, template: str, page: Page, **context: Any) -> str:
        return self.environment.get_template(template).render(page=page, **context)

    def respond(self, template: str, page: Page, **context: Any) -> HTMLResponse:
        return html_response(self.render(template, page, **context), page.language)

    def around(self, document: str, page: Page) -> str:
        """A complete HTML document of another renderer (a report) with the site's head
        additions, navigation and footer put around its content."""
        head = self.render("_head.html.j2", page)
        header = self.render("_header.html.j2", page)
        footer = self.render("_footer.html.j2", page)
        document = document.replace("</head>", f"{head}</head>", 1)
        body = re.search(r"<body[^>]*>", document)
        if body is None:
            return document
        document = document[: body.end()] + header + document[body.end() :]
        end = document.rfind("</body>")
        return document[:end] + footer + document[end:] if end != -1 else document + footer


def html_response(page: str, language: str, status_code: int = 200) -> HTMLResponse:
    """A page's response: it varies by ``Accept-Language`` and says its language."""
    # Returned as is, so the header the language dependency set must be repeated here.
    return HTMLResponse(
        page,
        status_code=status_code,
        headers={"Content-Language": language, "Vary": "Accept-Language"},
    )


def svg_markup(svg: str) -> Markup:
    """SVG drawn by vl-convert, which escapes its texts, as markup for a template."""
    return Markup(svg)  # drawn by vl-convert, which escapes its texts
