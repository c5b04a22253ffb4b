"""Browser fixtures: Debian's chromium driven by Playwright's async API (the backend shares the event loop).

Chromium starts once per test worker and each test connects to it over CDP with fresh contexts: a test's event loop
is its own (pytest-asyncio, function scope), so the Playwright connection is per test, the browser process is not.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import require

# The web_backend fixture lives in the shared plugin (integration tests serve over a socket too).
from tests.support.backend import free_port
from tests.support.fixtures import WebBackend as WebBackend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# What Playwright's own launch would add and the tests rely on: several pages of one test run side by side
# (operator and wallboard), so none may be throttled as a background tab; no scrollbars in screenshots and widths.
LAUNCHED_AS_PLAYWRIGHT_WOULD = [
    "--headless", "--hide-scrollbars", "--mute-audio", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows", "--disable-renderer-backgrounding", "--disable-ipc-flooding-protection",
    "--disable-hang-monitor", "--disable-popup-blocking", "--disable-back-forward-cache", "--disable-extensions",
    "--disable-default-apps", "--disable-dev-shm-usage", "--no-default-browser-check", "--password-store=basic",
    "--force-color-profile=srgb", "--allow-pre-commit-input", "--enable-automation",
]
VIEWPORT = {"width": 1366, "height": 768}
STARTUP_SECONDS = 30


class WorkerChromium:
    """The worker's one chromium: started on first use, started again if it died (a crash fails one test only)."""

    def __init__(self, profile_dir: Path) -> None:
        self._profile_dir = profile_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._endpoint = ""

    def endpoint(self) -> str:
        if self._process is None or self._process.poll() is not None:
            self._start()
        return self._endpoint

    def _start(self) -> None:
        port = free_port()
        log = (self._profile_dir / "chromium.log").open("ab")
        self._process = subprocess.Popen(
            [str(CHROMIUM), *CHROMIUM_ARGS, *LAUNCHED_AS_PLAYWRIGHT_WOULD, "--remote-debugging-address=127.0.0.1",
             f"--remote-debugging-port={port}", f"--user-data-dir={self._profile_dir / 'profile'}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=log)
        self._endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited at start; see {self._profile_dir / 'chromium.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self._endpoint}/json/version", timeout=1).is_success:
                    return
            time.sleep(0.1)  # chromium takes a moment to open its DevTools port
        raise RuntimeError(f"chromium opened no DevTools port in {STARTUP_SECONDS} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


@pytest.fixture(scope="session")
def worker_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerChromium]:
    require(CHROMIUM.exists(), f"Debian chromium at {CHROMIUM} (apt-get install chromium)")
    browser = WorkerChromium(tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.stop()


@pytest.fixture
async def chromium(worker_chromium: WorkerChromium) -> AsyncIterator[Browser]:
    """The worker's chromium for one test: the contexts the test makes are closed after it, the process stays."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(worker_chromium.endpoint())
        yield browser
        for context in browser.contexts[1:]:  # the first is chromium's own default context
            await context.close()
        await browser.close()  # over CDP: disconnects, the browser keeps running


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
