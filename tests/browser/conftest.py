"""Browser tests: Debian's chromium (``make test`` installs it) driven by Playwright; no browser
is ever downloaded.

Playwright's sync API keeps an event loop running in the main thread while it is started, and
``asyncio.run`` refuses to start inside one: so Playwright lives per module here (pytest-playwright
would keep it for the whole session, and every asyncio test after the first browser test would
fail). ``context`` and ``page`` come from pytest-playwright, on this module's browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Keep chromium from calling Google's services, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "('make test' installs it: apt-get install chromium)"
        )
    manager = sync_playwright().start()
    yield manager
    manager.stop()


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright) -> BrowserType:
    return playwright.chromium


@pytest.fixture(scope="module")
def browser(browser_type: BrowserType) -> Iterator[Browser]:
    launched = browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """For any pytest-playwright fixture that launches on its own: the same chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
