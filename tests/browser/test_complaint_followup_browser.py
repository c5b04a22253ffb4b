"""An anonymous complainant (Debian chromium, no login, on a phone 360×740 and a desktop 1366×768) opens their
complaint with its tracking code and receipt, reads the inspector's question, answers with a photo, and later reads
the result; a wrong receipt is refused in Persian, and the 6th wrong try in a minute is refused. Every page passes
axe-core and fits the phone's width."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from callcenter.complaints.followup import NO_MATCH_RECEIPT, TOO_MANY_TRIES
from callcenter.complaints.names import STATUS_NAMES
from db.models import ComplaintStatus
from tests.browser.conftest import WebBackend
from tests.support.axe import assert_accessible
from tests.support.complaint_followup import (
    QUESTION,
    RESULT,
    Filed,
    anonymous_complaint,
    ask,
    close_with_result,
    in_one_rate_window,
)
from tests.support.photos import image_bytes

pytestmark = [pytest.mark.browser]
PHONE = ViewportSize(width=360, height=740)
DESKTOP = ViewportSize(width=1366, height=768)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ANSWER = "سه‌شنبه‌ها حدود ساعت هفت صبح، جلوی نانوایی"


async def new_page(chromium: Browser, viewport: ViewportSize) -> tuple[BrowserContext, Page]:
    phone = viewport == PHONE
    context = await chromium.new_context(viewport=viewport, locale="fa-IR", timezone_id="Asia/Tehran",
                                         is_mobile=phone, has_touch=phone)
    return context, await context.new_page()


async def fits_the_width(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


async def open_with_receipt(page: Page, filed: Filed, receipt: str) -> None:
    form = page.locator("#by-receipt")
    await form.get_by_label("کد پیگیری شکایت").fill(filed.tracking_code.translate(str.maketrans(
        "0123456789", "۰۱۲۳۴۵۶۷۸۹")))
    await form.get_by_label("رسید").fill(receipt)
    await form.get_by_role("button", name="باز کردن شکایت").click()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
async def test_given_an_anonymous_complaint_when_followed_up_with_its_receipt_then_question_answer_and_result(
    web_backend: WebBackend, chromium: Browser, viewport: ViewportSize,
) -> None:
    filed = anonymous_complaint(web_backend.engine)
    ask(web_backend.engine, filed)
    context, page = await new_page(chromium, viewport)
    try:
        await page.goto(web_backend.url + "/complaints/follow")
        await assert_accessible(page)
        await fits_the_width(page)

        await open_with_receipt(page, filed, "abcd-efgh-ijkm-npqr-stuv")
        await expect(page.get_by_role("alert")).to_have_text(NO_MATCH_RECEIPT)
        await assert_accessible(page)

        await open_with_receipt(page, filed, filed.receipt)
        await expect(page).to_have_url(web_backend.url + "/complaints/case")
        await expect(page.locator("#case-status")).to_have_text(STATUS_NAMES[ComplaintStatus.RECEIVED])
        await expect(page.locator("#conversation li").first).to_contain_text(QUESTION)
        await expect(page.locator("#conversation li").first).to_contain_text("بازرسی")
        await assert_accessible(page)
        await fits_the_width(page)

        await page.get_by_label("متن").fill(ANSWER)
        await page.get_by_label("پیوست (اختیاری)").set_input_files(
            {"name": "evidence.jpg", "mimeType": "image/jpeg", "buffer": image_bytes()})
        await page.get_by_role("button", name="فرستادن پاسخ").click()
        await expect(page.get_by_role("status")).to_contain_text("پاسخ شما ثبت شد")
        mine = page.locator("#conversation li.mine")
        await expect(mine).to_contain_text(ANSWER)
        await expect(mine.get_by_role("link")).to_contain_text("عکس")
        async with page.expect_download() as download:
            await mine.get_by_role("link").click()
        assert (await download.value).suggested_filename.endswith(".jpg")
        await assert_accessible(page)

        close_with_result(web_backend.engine, filed)
        await page.reload()
        await expect(page.locator("#case-status")).to_have_text(STATUS_NAMES[ComplaintStatus.CLOSED])
        await expect(page.locator("#case-result")).to_contain_text(RESULT)
        await expect(page.locator("#answer-form")).to_have_count(0)
        await assert_accessible(page)
        await fits_the_width(page)
        if viewport == PHONE:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "complaint-followup.png"), full_page=True)

        await page.get_by_role("button", name="خروج از پیگیری").click()
        await expect(page).to_have_url(web_backend.url + "/complaints/follow?left=1")
        await page.goto(web_backend.url + "/complaints/case")
        await expect(page).to_have_url(web_backend.url + "/complaints/follow")  # the pass is gone
    finally:
        await context.close()


async def test_given_five_wrong_receipts_in_a_minute_when_the_sixth_is_right_then_it_is_refused_in_persian(
    web_backend: WebBackend, chromium: Browser,
) -> None:
    filed = anonymous_complaint(web_backend.engine)
    context, page = await new_page(chromium, PHONE)
    try:
        await page.goto(web_backend.url + "/complaints/follow")
        in_one_rate_window(tries_take_seconds=30)
        for attempt in range(5):
            await open_with_receipt(page, filed, f"wrong-{attempt}")
            await expect(page.get_by_role("alert")).to_have_text(NO_MATCH_RECEIPT)
        async with page.expect_response(lambda r: r.url.endswith("/complaints/follow")) as answered:
            await open_with_receipt(page, filed, filed.receipt)
        response = await answered.value
        assert response.status == 429 and int(await response.header_value("retry-after") or "0") >= 1
        await expect(page.get_by_role("alert")).to_have_text(TOO_MANY_TRIES)
        await assert_accessible(page)
    finally:
        await context.close()
