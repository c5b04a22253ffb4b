"""Browser fixtures: Debian's chromium driven by Playwright's async API (the backend shares the event loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import require

# The web_backend fixture lives in the shared plugin (integration tests serve over a socket too).
from tests.support.fixtures import WebBackend as WebBackend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    require(CHROMIUM.exists(), f"Debian chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def browser_context(chromium: Browser) -> AsyncIterator[BrowserContext]:
    context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR", timezone_id="Asia/Tehran")
    yield context
    await context.close()


@pytest.fixture
async def console_page(browser_context: BrowserContext) -> AsyncIterator[Page]:
    """One tab; uncaught JavaScript errors fail the test at teardown."""
    page = await browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"uncaught JavaScript errors in the console page: {errors}"


async def log_in(page: Page, url: str, username: str, password: str, *, landing: str | None = None) -> None:
    """Through the login form, as a person would; ``landing``: the page the role is sent to."""
    await page.goto(url + "/login")
    await page.get_by_label("نام کاربری", exact=True).fill(username)
    await page.get_by_label("گذرواژه", exact=True).fill(password)
    await page.get_by_role("button", name="ورود", exact=True).click()
    if landing is not None:
        await expect(page).to_have_url(url + landing)
