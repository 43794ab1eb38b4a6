"""A headless Chromium for the tests of pages a person opens (report.html, model.html).

One browser per session (Debian's ``/usr/bin/chromium``, driven by Playwright
without its own download); :func:`open_page` opens a local file in a fresh page
and records console errors, page errors and every request that is not the file
itself or inline ``data:``: a page must work offline and fetch nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Opened:
    """A page opened from a file, with what went wrong while it loaded."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, path: Path) -> Path:
        """Writes a full-page screenshot to ``path``; returns it."""
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("the browser tests need Chromium (Debian package 'chromium'); see .ci/run")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session, with a fresh user-data-dir."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=_chromium(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def open_page(browser):
    """Opens a local HTML file in a new page: ``open_page(path) -> Opened``."""
    pages = []

    def open_file(path: Path) -> Opened:
        page = browser.new_page()
        pages.append(page)
        opened = Opened(page)
        url = Path(path).resolve().as_uri()
        page.on(
            "console",
            lambda message: message.type == "error" and opened.errors.append(message.text),
        )
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on(
            "request",
            lambda request: (
                request.url != url
                and not request.url.startswith("data:")
                and opened.requests.append(request.url)
            ),
        )
        page.goto(url, wait_until="load")
        return opened

    yield open_file
    for page in pages:
        page.close()
