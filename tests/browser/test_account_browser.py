"""An account holder in a real browser: changes their password from the console's link, and the console still
open in another browser is sent to the login page at once (its session was revoked, the websocket closed 4401)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import VIEWPORT, WebBackend, log_in
from tests.support.backend import OPERATOR_1

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a-brand-new-pass"


async def test_given_a_console_open_elsewhere_when_the_operator_changes_the_password_then_that_console_goes_to_login(
    web_backend: WebBackend, chromium: Browser,
) -> None:
    elsewhere_context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR")
    here_context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR")
    elsewhere, here = await elsewhere_context.new_page(), await here_context.new_page()
    try:
        await log_in(elsewhere, web_backend.url, OPERATOR_1.username, OPERATOR_1.password, landing="/console")
        await expect(elsewhere.locator("#connection")).to_have_text("متصل")
        await log_in(here, web_backend.url, OPERATOR_1.username, OPERATOR_1.password, landing="/console")

        await here.get_by_role("link", name="تغییر گذرواژه").click()
        await here.get_by_label("گذرواژهٔ فعلی").fill(OPERATOR_1.password)
        await here.get_by_label("گذرواژهٔ تازه", exact=True).fill(NEW_PASSWORD)
        await here.get_by_label("تکرار گذرواژهٔ تازه").fill(NEW_PASSWORD)
        await here.get_by_role("button", name="تغییر گذرواژه").click()

        await expect(here.get_by_role("status")).to_contain_text("گذرواژهٔ شما تغییر کرد")
        await expect(elsewhere).to_have_url(web_backend.url + "/login", timeout=3000)
        await here.goto(web_backend.url + "/console")  # this browser's own session goes on
        await expect(here).to_have_url(web_backend.url + "/console")
        await log_in(elsewhere, web_backend.url, OPERATOR_1.username, NEW_PASSWORD, landing="/console")
    finally:
        await elsewhere_context.close()
        await here_context.close()
