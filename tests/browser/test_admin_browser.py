"""The admin page in a real browser against the real Asterisk: an operator added on the page gets a phone that
registers with the credentials shown there, logs in to the console, and loses the phone when deactivated."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlmodel import Session

from callcenter.platform.persian import ascii_digits
from callcenter.platform.security import hash_password
from db.models import Role, User
from tests.browser.conftest import log_in
from tests.support.backend import TEST_BASE_PORT, TEST_STAFF, RunningBackend
from tests.support.sipp import Sipp

pytestmark = [pytest.mark.browser, pytest.mark.asterisk]

ADMIN, ADMIN_PASSWORD = "city.admin", "city-admin-password"
NEW_PHONE_PORT = TEST_BASE_PORT + 90  # apart from the test staff's phones (+71) and citizens (+70)
# The lowest operator extension the test staff leave free.
EXPECTED_EXTENSION = "1003"


def an_admin_in_the_database(backend: RunningBackend) -> None:
    with Session(backend.engine) as session:
        session.add(User(username=ADMIN, full_name="مدیر شهرداری", role=Role.ADMIN,
                         password_hash=hash_password(ADMIN_PASSWORD)))
        session.commit()


async def add_operator_on_the_page(page: Page, *, username: str, full_name: str, password: str) -> tuple[str, str]:
    """Fill and send the add-staff form; returns the extension and SIP password the page shows (once)."""
    form = page.locator("#staff-form")
    await form.get_by_label("نام کاربری", exact=True).fill(username)
    await form.get_by_label("نام و نام خانوادگی", exact=True).fill(full_name)
    await form.get_by_label("نقش").select_option(label="کارشناس")
    await form.get_by_label("گذرواژه", exact=True).fill(password)
    await form.get_by_role("button", name="افزودن کارمند").click()
    await expect(page.locator("#new-phone")).to_be_visible()
    await expect(page.locator("#phone-pending")).to_have_count(0)  # Asterisk took the change at once
    extension = ascii_digits(await page.locator("#new-extension").inner_text())
    return extension, await page.locator("#new-sip-password").inner_text()


async def test_given_an_admin_when_adding_an_operator_on_the_page_then_the_shown_phone_registers_and_they_log_in(
    backend: RunningBackend, sipp: Sipp, console_page: Page
) -> None:
    page = console_page
    an_admin_in_the_database(backend)
    await log_in(page, backend.url, ADMIN, ADMIN_PASSWORD)
    await page.get_by_role("link", name="مدیریت").click()
    await expect(page).to_have_url(backend.url + "/admin")

    extension, sip_password = await add_operator_on_the_page(page, username="narges.hosseini",
                                                             full_name="نرگس حسینی", password="narges-password")

    assert extension == EXPECTED_EXTENSION and extension not in {account.extension for account in TEST_STAFF}
    row = page.locator('#staff tr[data-username="narges.hosseini"]')
    for text in ("نرگس حسینی", "کارشناس", "۱۰۰۳"):
        await expect(row).to_contain_text(text)
    await expect(row.locator(".badge.on")).to_have_text("فعال")
    registered = await sipp.register_phones([(extension, sip_password)], local_port=NEW_PHONE_PORT)
    assert registered.successful == 1 and registered.failed == 0, registered.output[-3000:]

    await page.get_by_role("button", name="خروج").click()
    await log_in(page, backend.url, "narges.hosseini", "narges-password")
    await expect(page).to_have_url(backend.url + "/console")
    await expect(page.locator(".who")).to_contain_text("نرگس حسینی")


async def test_given_an_operator_added_on_the_page_when_the_admin_deactivates_them_then_the_phone_is_refused(
    backend: RunningBackend, sipp: Sipp, console_page: Page
) -> None:
    page = console_page
    an_admin_in_the_database(backend)
    await log_in(page, backend.url, ADMIN, ADMIN_PASSWORD)
    await page.goto(backend.url + "/admin")
    extension, sip_password = await add_operator_on_the_page(page, username="leaving.operator",
                                                             full_name="کارمند رفتنی", password="leaving-password")
    before = await sipp.register_phones([(extension, sip_password)], local_port=NEW_PHONE_PORT)
    assert before.successful == 1, before.output[-3000:]

    row = page.locator('#staff tr[data-username="leaving.operator"]')
    await row.get_by_role("button", name="غیرفعال کردن").click()

    await expect(page.locator("#flash")).to_have_text("حساب «leaving.operator» غیرفعال شد.")
    await expect(row.locator(".badge.off")).to_have_text("غیرفعال")
    await expect(row.get_by_role("button", name="فعال کردن")).to_be_visible()
    after = await sipp.register_phones([(extension, sip_password)], local_port=NEW_PHONE_PORT)
    assert after.successful == 0 and after.failed == 1, after.output[-3000:]
