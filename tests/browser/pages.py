"""The public pages the real-browser tests open, each in every language.

A page is served by ``profiles`` or ``dialogue``; its path may name ``{edition}``, the id of
the edition the tests publish of ``EDITION_CITY``'s profile. The tests add ``lang=`` to the
query and ask for the language in ``Accept-Language`` too. A page that does not answer 200
fails its tests: add a page here once it is served. The links a page has to either service
must answer (a 2xx, after redirects), and its links within itself must name an element.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "fr", "ar")
#: The city whose edition the tests publish: Arabic-speaking, with charts in its profile.
EDITION_CITY = "LBBEY"
#: A city the demo data gives a published governance assessment (its report has the section).
ASSESSED_CITY = "PTLIS"


@dataclass(frozen=True)
class Page:
    #: Names the test and the screenshot (``{name}-{language}.png``).
    name: str
    service: str
    path: str
    #: The page draws at least one chart (an SVG with a text alternative).
    charts: bool = False
    #: The page links to the JSON it was built from (the site's pages do; the reports are
    #: documents of their own).
    links_json: bool = True


PAGES = (
    Page("index", "profiles", "/"),
    Page("city", "profiles", f"/cities/{EDITION_CITY}", charts=True),
    Page("city-editions", "profiles", f"/cities/{EDITION_CITY}/editions"),
    Page("compare-form", "profiles", "/compare"),
    Page(
        "compare",
        "profiles",
        "/compare?indicator=foreign_nationals&cities=ESMAD,PTLIS,FRLYS",
        charts=True,
    ),
    Page("events", "dialogue", "/events"),
    Page(
        "city-report-preview",
        "profiles",
        f"/v1/cities/{EDITION_CITY}/report",
        charts=True,
        links_json=False,
    ),
    Page(
        "assessed-report-preview",
        "profiles",
        f"/v1/cities/{ASSESSED_CITY}/report",
        charts=True,
        links_json=False,
    ),
    Page(
        "edition-report", "profiles", "/v1/editions/{edition}/report", charts=True, links_json=False
    ),
)
