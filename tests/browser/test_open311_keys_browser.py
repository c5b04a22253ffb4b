"""Open311 keys in a real browser: the administrator issues a key on the admin page, an app posts with the key the
page showed once, and after «ابطال» the same key is refused; the page with a key shown passes axe-core."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect
from sqlmodel import col, select

from callcenter.platform.security import hash_password
from db.engine import unit_of_work
from db.models import Category, Line, Role, User
from tests.browser.conftest import log_in
from tests.support.axe import assert_accessible
from tests.support.fixtures import WebBackend

ADMIN, ADMIN_PASSWORD = "open311.admin", "open311-admin-password"


async def post_with(backend: WebBackend, key: str) -> int:
    with unit_of_work(backend.engine) as session:
        category = session.exec(select(Category).where(Category.line == Line.SERVICES)
                                .order_by(col(Category.id))).first()
        assert category is not None
    async with httpx.AsyncClient(base_url=backend.url) as http:
        response = await http.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": str(category.id), "address_string": "میدان آزادی",
            "description": "درخت افتاده"})
    return response.status_code


async def test_given_an_admin_when_a_key_is_issued_and_revoked_on_the_page_then_an_app_posts_only_until_revoked(
    web_backend: WebBackend, console_page: Page,
) -> None:
    with unit_of_work(web_backend.engine) as session:
        session.add(User(username=ADMIN, full_name="مدیر شهرداری", role=Role.ADMIN,
                         password_hash=hash_password(ADMIN_PASSWORD)))
    page = console_page
    await log_in(page, web_backend.url, ADMIN, ADMIN_PASSWORD)
    await page.goto(web_backend.url + "/admin")
    form = page.locator("#open311-key-form")
    await form.get_by_label("نام برنامه یا سازمان").fill("اپلیکیشن شهر من")
    await form.get_by_label("سقف درخواست در دقیقه").fill("20")
    await form.get_by_role("button", name="صدور کلید").click()
    secret = page.locator("#new-open311-key-secret")
    await expect(secret).to_be_visible()
    key = await secret.inner_text()
    await assert_accessible(page)
    assert await post_with(web_backend, key) == 201

    await page.goto(web_backend.url + "/admin")
    await expect(page.locator("#new-open311-key-secret")).to_have_count(0)  # shown once
    row = page.locator("#open311-keys tr", has_text="اپلیکیشن شهر من")
    await expect(row).to_contain_text("۲۰")
    await row.get_by_role("button", name="ابطال").click()
    await expect(page.locator("#flash")).to_contain_text("باطل شد")
    await expect(page.locator("#open311-keys tr", has_text="اپلیکیشن شهر من")).to_contain_text("باطل‌شده")
    assert await post_with(web_backend, key) == 403
