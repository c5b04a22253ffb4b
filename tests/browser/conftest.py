"""Browser fixtures: Debian's chromium driven by Playwright's async API (the backend shares the event loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from callcenter.app import create_app
from callcenter.services import Services
from callcenter.settings import load_settings
from tests.conftest import require
from tests.support.backend import TEST_SECRETS, free_port, seed_staff, start_serving

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


@dataclass(frozen=True)
class WebBackend:
    url: str
    services: Services
    engine: sa.Engine


@pytest.fixture
async def web_backend(engine: sa.Engine, database_url: str, tmp_path: Path) -> AsyncIterator[WebBackend]:
    """The backend without telephony (for pages that need no call), with the test staff, served in this
    event loop."""
    seed_staff(engine)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             web_port=free_port(), state_dir=tmp_path / "state")
    app = create_app(settings, telephony=False)
    server, task = await start_serving(app, settings.web_port)
    try:
        yield WebBackend(url=f"http://127.0.0.1:{settings.web_port}", services=app.state.services, engine=engine)
    finally:
        server.should_exit = True
        await task


async def log_in(page: Page, url: str, username: str, password: str, *, landing: str | None = None) -> None:
    """Through the login form, as a person would; ``landing``: the page the role is sent to."""
    await page.goto(url + "/login")
    await page.get_by_label("نام کاربری", exact=True).fill(username)
    await page.get_by_label("گذرواژه", exact=True).fill(password)
    await page.get_by_role("button", name="ورود", exact=True).click()
    if landing is not None:
        await expect(page).to_have_url(url + landing)
