"""Every public page in a real browser (headless Chromium), in English, French and Arabic, on
a phone 375 px wide: nothing wider than the screen, the page's language on ``<html>``, Arabic
right to left with its main heading on the right, every chart drawn as an SVG with a text
alternative, links that lead somewhere (the JSON the page was built from among them), and no
serious or critical accessibility violation by axe-core. A full-page screenshot of each page
and language is kept (tests/browser/conftest.py says where).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.async_api import APIRequestContext, BrowserContext, Page

from tests.browser import pages
from tests.browser.conftest import Site

pytestmark = pytest.mark.browser

#: axe-core's impacts that fail a page.
FAILING_IMPACTS = {"serious", "critical"}

#: What fits, and where the content is that does not: the deepest elements past the edge the
#: page scrolls to (the right, or the left right to left), or whose content spills past it
#: (a list's markers are no elements), outside scrolling boxes and charts' insides.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const rtl = getComputedStyle(document.documentElement).direction === 'rtl';
  const past = (left, right) => rtl ? left < -1 : right > width + 1;
  const scrolled = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (p === document.body || p === document.documentElement) return false;
    if (getComputedStyle(p).overflowX !== 'visible') return true; }
    return false; };
  const beyond = (el) => { const r = el.getBoundingClientRect();
    if (r.width > 0 && past(r.left, r.right)) return true;
    return el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible'
      && past(r.right - el.scrollWidth, r.left + el.scrollWidth); };
  const found = [...document.body.querySelectorAll('*')].filter((el) =>
    (el instanceof HTMLElement || el.tagName.toLowerCase() === 'svg')
    && !el.parentElement.closest('svg') && !scrolled(el) && beyond(el));
  const culprits = found.filter((el) => !found.some((other) => other !== el && el.contains(other)))
    .slice(0, 5)
    .map((el) => { const r = el.getBoundingClientRect();
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (typeof el.className === 'string' && el.className.trim()
          ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      return `<${name}> at ${Math.round(r.left)}-${Math.round(r.right)} px, its content `
        + `${el.scrollWidth} px wide in ${el.clientWidth}: `
        + `"${(el.textContent || '').trim().slice(0, 40)}"`; });
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits};
}"""

#: The document's language and direction, and where its main heading's text sits.
HEADING = """() => {
  const html = document.documentElement;
  const h1 = document.querySelector('main h1') || document.querySelector('h1');
  const result = {lang: html.getAttribute('lang'), dir: html.getAttribute('dir'),
                  innerWidth: window.innerWidth, h1: null};
  if (!h1) return result;
  const style = getComputedStyle(h1);
  const box = h1.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(h1);
  const text = range.getBoundingClientRect();
  result.h1 = {text: h1.textContent.trim().slice(0, 80), textAlign: style.textAlign,
    direction: style.direction, boxLeft: box.left, boxRight: box.right,
    contentRight: box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth),
    textLeft: text.left, textRight: text.right};
  return result;
}"""

#: Every chart: each ``figure.chart`` holds an SVG, and every SVG that is not decoration
#: (``aria-hidden``) is drawn, has a text alternative (its ``aria-label``, what
#: ``aria-labelledby`` names, its ``<title>``, or its figure's caption) and its texts (title,
#: axes, legend) inside it, where they are not cut off.
CHARTS = """() => {
  const describe = (el) => el.closest('[id]') ? '#' + el.closest('[id]').id : el.tagName;
  const problems = [];
  for (const figure of document.querySelectorAll('figure.chart')) {
    if (!figure.querySelector('svg')) problems.push(`${describe(figure)}: no <svg> drawn`);
  }
  const svgs = [...document.querySelectorAll('svg')].filter((svg) =>
    !svg.parentElement.closest('svg') && !svg.closest('[aria-hidden="true"]'));
  for (const svg of svgs) {
    const labelled = (svg.getAttribute('aria-labelledby') || '').split(/\\s+/)
      .map((id) => document.getElementById(id)?.textContent || '').join(' ');
    const title = svg.querySelector(':scope > title')?.textContent || '';
    const caption = svg.closest('figure')?.querySelector('figcaption')?.textContent || '';
    const alternative = [svg.getAttribute('aria-label') || '', labelled, title, caption]
      .find((text) => text.trim());
    const box = svg.getBoundingClientRect();
    if (!alternative) problems.push(`${describe(svg)}: an <svg> without a text alternative`);
    if (box.width < 1 || box.height < 1) problems.push(`${describe(svg)}: an <svg> not drawn`);
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (text.textContent.trim() && (r.left < box.left - 2 || r.right > box.right + 2
          || r.top < box.top - 2 || r.bottom > box.bottom + 2)) {
        problems.push(`${describe(svg)}: its text "${text.textContent.trim().slice(0, 40)}" is `
          + `drawn at ${Math.round(r.left)}-${Math.round(r.right)} px, outside the chart `
          + `(${Math.round(box.left)}-${Math.round(box.right)} px), so cut off `
          + `(text-anchor ${text.getAttribute('text-anchor')}, direction `
          + `${getComputedStyle(text).direction})`);
      }
    }
  }
  return {count: svgs.length, problems};
}"""

#: The page's links: to elsewhere (resolved, without their fragment), and within itself
#: (``#id``) to no element.
LINKS = """() => {
  const links = [...document.querySelectorAll('a[href]')];
  const away = links.filter((a) => !a.getAttribute('href').startsWith('#'))
    .map((a) => [a.textContent.trim().slice(0, 40), a.href.split('#')[0]]);
  const nowhere = links.map((a) => a.getAttribute('href'))
    .filter((href) => href.startsWith('#') && href.length > 1
      && !document.getElementById(decodeURIComponent(href.slice(1))));
  return {away, nowhere};
}"""

AXE_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    helpUrl: v.helpUrl, targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    nodes: v.nodes.length, summary: (v.nodes[0] && v.nodes[0].failureSummary) || ''}));
}"""


def with_language(url: str, language: str) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode({"lang": language})


def overflow_problems(found: dict[str, Any]) -> list[str]:
    if found["scrollWidth"] <= found["innerWidth"]:
        return []
    return [
        f"horizontal overflow: the document is {found['scrollWidth']} px wide in a "
        f"{found['innerWidth']} px viewport; past the edge: {found['culprits']}"
    ]


def heading_problems(found: dict[str, Any], language: str) -> list[str]:
    problems = []
    if found["lang"] != language:
        problems.append(f"<html lang={found['lang']!r}>, not {language!r}")
    h1 = found["h1"]
    if h1 is None:
        return [*problems, "no <h1>"]
    if language != "ar":
        return problems
    if found["dir"] != "rtl" or h1["direction"] != "rtl":
        problems.append(f"<html dir={found['dir']!r}>, the h1's direction {h1['direction']!r}")
    if h1["textAlign"] not in {"right", "start"}:
        problems.append(f"the h1 is aligned {h1['textAlign']!r}, not right")
    # The heading's text ends at the right of its box, and the box at the screen's right
    # (within the page's margins).
    if abs(h1["textRight"] - h1["contentRight"]) > 2 or h1["boxRight"] < found["innerWidth"] - 48:
        problems.append(
            f"the h1 {h1['text']!r} does not hug the right: its text spans "
            f"{h1['textLeft']:.0f}-{h1['textRight']:.0f} px in a box ending at "
            f"{h1['boxRight']:.0f} px of {found['innerWidth']}"
        )
    return problems


def chart_problems(found: dict[str, Any], page: pages.Page) -> list[str]:
    problems = list(found["problems"])
    if page.charts and found["count"] == 0:
        problems.append("no chart drawn (an <svg>), though the page has charts")
    return problems


def axe_problems(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"axe {v['impact']} {v['id']}: {v['help']} ({v['helpUrl']}); {v['nodes']} element(s), "
        f"e.g. {v['targets']}; {v['summary'].strip()}"
        for v in violations
        if v["impact"] in FAILING_IMPACTS
    ]


#: What each link of the services answered (status, media type), per test process: the
#: pages share their navigation, and a link is fetched once.
ANSWERS: dict[str, tuple[int, str]] = {}


async def link_problems(
    found: dict[str, Any], site: Site, request: APIRequestContext, page: pages.Page
) -> list[str]:
    """Links within the page that name no element; links to either service that do not
    answer; and, for the site's pages, no link to the JSON the page was built from."""
    problems = [
        f"a link to {href} within the page, where no element has that id"
        for href in found["nowhere"]
    ]
    ours = [(text, url) for text, url in found["away"] if site.serves(url)]
    for text, url in ours:
        if url not in ANSWERS:
            answer = await request.get(url, max_redirects=5)
            ANSWERS[url] = (answer.status, answer.headers.get("content-type", ""))
            await answer.dispose()
        status, _ = ANSWERS[url]
        if not 200 <= status < 300:
            problems.append(f"the link {text!r} to {url} answers {status}")
    if page.links_json and not any("json" in ANSWERS[url][1] for _, url in ours):
        problems.append("no link to the JSON the page was built from")
    return problems


async def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize("language", pages.LANGUAGES)
@pytest.mark.parametrize("public", pages.PAGES, ids=lambda page: page.name)
async def test_a_public_page_reads_well_on_a_phone_in_its_language(
    public: pages.Page,
    language: str,
    site: Site,
    contexts: dict[str, BrowserContext],
    axe_script: Path,
    screenshots: Path,
    record_property: Any,
) -> None:
    url = with_language(site.url(public.service, public.path), language)
    page = await contexts[language].new_page()
    try:
        response = await page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, (
            f"{url}: {response and response.status} {response and await response.text()}"
        )
        assert response.headers.get("content-type", "").startswith("text/html"), url
        shot = await screenshot(page, screenshots, f"{public.name}-{language}")
        record_property("screenshot", str(shot))
        print(f"screenshot of {url}: {shot}")  # noqa: T201
        problems = [
            *overflow_problems(await page.evaluate(OVERFLOW)),
            *heading_problems(await page.evaluate(HEADING), language),
            *chart_problems(await page.evaluate(CHARTS), public),
            *await link_problems(await page.evaluate(LINKS), site, page.request, public),
        ]
        await page.add_script_tag(path=str(axe_script))
        problems += axe_problems(await page.evaluate(AXE_RUN))
    finally:
        await page.close()
    assert not problems, f"{url} ({shot}):\n- " + "\n- ".join(problems)
