"""Fixtures of the real-browser tests: Debian's Chromium driven by Playwright, axe-core from
npm (pinned in package-lock.json here), and both apps served over real HTTP by uvicorn on a
seeded database of the module's own, with an edition of Beirut's profile published.

Playwright's own browser download is not used: the tests drive ``/usr/bin/chromium``
(Debian's package, which ``.ci/run`` installs). Without it they skip, and under CI
(``CI=true``) they fail. Screenshots go to ``browser-screenshots`` under the run's temporary
folder (shared by pytest-xdist's workers), named after the page and language.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, async_playwright

from services.dialogue_api.app import create_app as create_dialogue_app
from services.profiles_api.app import create_app as create_profiles_app
from shared.auth import Role, issue_token
from shared.settings import Settings
from tests.browser.pages import EDITION_CITY, LANGUAGES
from tests.conftest import make_settings
from tests.waiting import eventually

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
HOST = "127.0.0.1"
#: The phone-sized viewport every page must fit.
VIEWPORT = {"width": 375, "height": 812}
SCREENSHOTS = "browser-screenshots"


def under_ci() -> bool:
    """As CI services set it (``CI=true``)."""
    return os.environ.get("CI", "").lower() not in {"", "false", "0"}


def missing(reason: str) -> None:
    """Skip outside CI; under CI a missing tool is a failure, not a skipped check."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _pinned_axe_version() -> str:
    lock = json.loads((HERE / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/axe-core"]["version"]
    return version


def _installed_axe_version() -> str | None:
    manifest = AXE.parent / "package.json"
    if not AXE.exists() or not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's script at the version package-lock.json pins; ``npm ci`` installs it when
    it is missing or another version. Under a lock: pytest-xdist's workers share the folder,
    and ``npm ci`` starts by removing node_modules."""
    pinned = _pinned_axe_version()
    if _installed_axe_version() == pinned:
        return AXE
    npm = shutil.which("npm")
    if npm is None:
        missing("npm is not installed: it installs axe-core (tests/browser/package-lock.json)")
    key = hashlib.sha256(str(HERE).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"mc2cm-browser-npm-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_axe_version() != pinned:
            done = subprocess.run(
                [str(npm), "ci", "--no-audit", "--no-fund"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"npm ci failed in {HERE}:\n{done.stdout}{done.stderr}"
    assert _installed_axe_version() == pinned, f"npm ci did not install axe-core {pinned}"
    return AXE


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, the browser the tests drive."""
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """One headless Chromium for the test process (``--no-sandbox``: the tests may run as
    root, where Chromium's sandbox refuses to start)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def contexts(browser: Browser) -> AsyncIterator[dict[str, BrowserContext]]:
    """A browser context per language, 375 px wide, asking for its language."""
    opened: dict[str, BrowserContext] = {}
    try:
        for language in LANGUAGES:
            context = await browser.new_context(
                viewport=VIEWPORT,  # type: ignore[arg-type]
                locale=language,
                extra_http_headers={"Accept-Language": language},
                # axe-core is injected as a script: a page's Content-Security-Policy must
                # not refuse it (the policy is the page's, the script the test's).
                bypass_csp=True,
            )
            context.set_default_timeout(20_000)
            opened[language] = context
        yield opened
    finally:
        for context in opened.values():
            await context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's screenshot folder: one for all of pytest-xdist's workers (their temporary
    folders are ``popen-gwN`` inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _listening_socket() -> socket.socket:
    """A socket listening on a port of the system's choosing (nobody can take it meanwhile)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen(100)
    server.setblocking(False)
    return server


class Served:
    """An app served by uvicorn on a real port, in the test's event loop. The port is taken
    first, so that each app can be told where the other is before it is built."""

    def __init__(self) -> None:
        self.socket = _listening_socket()
        self.url = f"http://{HOST}:{self.socket.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, app: FastAPI) -> None:
        # No log_config: uvicorn would reconfigure the process's loggers for later tests.
        config = uvicorn.Config(app, host=HOST, log_config=None, lifespan="on")
        self.server = server = uvicorn.Server(config)
        self.task = task = asyncio.create_task(server.serve(sockets=[self.socket]))
        await eventually(lambda: server.started or task.done(), message="app served")
        if task.done():
            task.result()  # the error that stopped it

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, timeout=15)
        self.socket.close()


@dataclass(frozen=True)
class Site:
    """Both services over HTTP, and what the pages' paths need filled in."""

    profiles: str
    dialogue: str
    values: dict[str, str]

    def serves(self, url: str) -> bool:
        """Whether ``url`` is one of the two services'."""
        bases = (self.profiles, self.dialogue)
        return any(url == base or url.startswith(f"{base}/") for base in bases)

    def url(self, service: str, path: str) -> str:
        base = {"profiles": self.profiles, "dialogue": self.dialogue}[service]
        return base + path.format(**self.values)


async def publish_edition(settings: Settings, profiles_url: str, city: str) -> str:
    """An edition of ``city``'s profile, published by an admin over HTTP; its id."""
    token = issue_token(settings, subject="admin@test", role=Role.admin)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=profiles_url, timeout=30) as client:
        response = await client.post(f"/v1/cities/{city}/editions", headers=headers)
    assert response.status_code == 201, response.text
    edition_id: str = response.json()["id"]
    return edition_id


@pytest.fixture(scope="module")
async def site(
    chromium: str, axe_script: Path, seeded_database: str, server_urls: tuple[str, str]
) -> AsyncIterator[Site]:
    """Profiles and dialogue served by uvicorn on the module's seeded database, with an
    edition of an Arabic-speaking city's profile published (the edition pages' content).
    The browser and axe-core are looked for first: without them the tests skip (or fail,
    under CI) before a database is built."""
    profiles, dialogue = Served(), Served()
    settings = make_settings(
        seeded_database,
        server_urls[1],
        # The links between the two services' pages, each on its own port here.
        profiles_pages_url=profiles.url,
        dialogue_pages_url=dialogue.url,
        profiles_api_url=profiles.url,
        # No worker renders PDFs here: their links answer 202 at once, and the renderings
        # they ask for wait in a queue of the module's own, where no other test's worker
        # takes them.
        report_wait_seconds=0,
        queue_name=f"test-browser-{uuid.uuid4().hex[:10]}",
    )
    try:
        await profiles.start(create_profiles_app(settings))
        await dialogue.start(create_dialogue_app(settings))
        edition = await publish_edition(settings, profiles.url, EDITION_CITY)
        yield Site(profiles.url, dialogue.url, {"edition": edition})
    finally:
        await dialogue.stop()
        await profiles.stop()


# The screenshots' paths, in the summary of a run that names this folder (pytest-xdist's
# controller gets them from the workers' reports).
SHOTS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        SHOTS.extend(str(value) for name, value in report.user_properties if name == "screenshot")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SHOTS:
        return
    terminalreporter.write_sep("-", "browser screenshots")
    folders = sorted({str(Path(shot).parent) for shot in SHOTS})
    terminalreporter.write_line(f"{len(SHOTS)} screenshots in {', '.join(folders)}")
