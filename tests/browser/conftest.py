"""Browser tests: Playwright's sync API driving Debian's Chromium against live_server.

Playwright's sync API runs an event loop in the test thread, so Django's guard against
synchronous database calls from async contexts has to be lifted for these tests.
"""

import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium').")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("The Python package 'playwright' is not installed.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # bypass_csp: axe-core is injected as an inline script, which the site's CSP refuses.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """``screenshot(name)`` saves a full-page PNG under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
