"""The inspection console in Debian's chromium, driven by clicks as the office works a case: the head triages and
assigns to an inspector (1366×768); the inspector starts the review and asks the unit for information; the
unit's liaison answers in their inbox on a phone (360×740) seeing only the question; the inspector records the
findings and closes with a result, which reaches the complainant as an SMS and as the follow-up page they open
on their phone with the code the SMS brings."""

from __future__ import annotations

import re

import jdatetime
import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect
from sqlmodel import select

from callcenter.complaints.names import GROUND_NAMES, STATUS_NAMES
from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, ComplaintMessage, ComplaintStatus, Role, SmsMessage
from tests.browser.conftest import WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.casework import COMPLAINANT, INSPECTION_OFFICE, file_complaint
from tests.support.citizen_forms import latest_phone_code
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}
QUESTION = "برنامهٔ جمع‌آوری زباله در خیابان فردوسی در آبان‌ماه چه بوده است؟"
ANSWER = "در آبان دو نوبت در هفته، شنبه‌ها و سه‌شنبه‌ها؛ دو نوبت به‌علت خرابی خودرو انجام نشد."
FINDINGS = "پیمانکار دو نوبت جمع‌آوری را انجام نداده و به تماس‌ها پاسخ نداده است."
RESULT = "به پیمانکار تذکر کتبی داده شد و برنامهٔ جمع‌آوری خیابان فردوسی اصلاح شد."


async def _no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


async def _log_out(page: Page) -> None:
    await page.get_by_role("button", name="خروج").click()
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_given_a_named_complaint_when_the_office_works_it_to_a_result_then_the_complainant_is_told(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page, chromium: Browser,
) -> None:
    page, url = console_page, web_backend.url
    for username, role, unit in (("head", Role.HEAD_OF_INSPECTION, INSPECTION_OFFICE),
                                 ("inspector", Role.INSPECTOR, INSPECTION_OFFICE),
                                 ("inspector2", Role.INSPECTOR, INSPECTION_OFFICE),
                                 ("waste", Role.UNIT_LIAISON, WASTE)):
        add_staff(engine, username, role, unit=unit)
    settings = web_backend.services.settings
    complaint = file_complaint(engine, settings, target_unit=WASTE, ground=ComplaintGround.DUTY_FAILURE)
    code = persian_digits(complaint.tracking_code)

    # The head: the queue, the new complaint, assigned to the first inspector.
    await log_in(page, url, "head", PASSWORD, landing="/inspection")
    await page.get_by_role("link", name="تازه و واگذارنشده").click()
    row = page.locator("#triage-table tr", has_text=code)
    await expect(row).to_contain_text(GROUND_NAMES[ComplaintGround.DUTY_FAILURE])
    await assert_accessible(page)
    await _no_sideways_scroll(page)
    await row.get_by_role("link", name=code).click()
    await expect(page.locator("#case-description")).to_have_text(complaint.description)
    assign = page.locator("#action-assign")
    await assign.get_by_label("بازرس").select_option(label="inspector آزمایشی")
    await assign.get_by_role("button", name="واگذاری به بازرس").click()
    await expect(page.locator("#case-assignee")).to_have_text("inspector آزمایشی")
    await assert_accessible(page)
    await _log_out(page)

    # The inspector: their queue, the review started, the unit asked.
    await log_in(page, url, "inspector", PASSWORD, landing="/inspection")
    await page.get_by_role("link", name="شکایت‌های من").click()
    await page.get_by_role("link", name=code).click()
    await page.locator("#action-start_review").get_by_role("button", name="شروع بررسی").click()
    await expect(page.locator("#case-status")).to_have_text(STATUS_NAMES[ComplaintStatus.UNDER_REVIEW])
    form = page.locator("#information-form")
    await form.get_by_label("واحد").select_option(label=WASTE)
    await form.get_by_label("پرسش").fill(QUESTION)
    due = jdatetime.date.today() + jdatetime.timedelta(days=7)
    await form.get_by_label("مهلت پاسخ").fill(persian_digits(due.strftime("%Y/%m/%d")))
    await form.get_by_role("button", name="فرستادن درخواست اطلاعات").click()
    await expect(page.locator("#request-list")).to_contain_text("در انتظار پاسخ")
    await _log_out(page)

    # The liaison, on a phone: the inbox's link, the question alone, the answer.
    phone_context = await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran")
    try:
        phone = await phone_context.new_page()
        await log_in(phone, url, "waste", PASSWORD, landing="/inbox")
        await phone.get_by_role("link", name="درخواست‌های اطلاعات بازرسی").click()
        request = phone.locator("article.request")
        await expect(request).to_contain_text(QUESTION)
        await expect(request).to_contain_text(persian_digits(due.strftime("%Y/%m/%d")))
        shown = await phone.locator("main").inner_text()
        for secret in (complaint.description, code, complaint.tracking_code,
                       GROUND_NAMES[complaint.ground], COMPLAINANT.name, COMPLAINANT.mobile):
            assert secret not in shown
        assert complaint.description not in await phone.content()
        await assert_accessible(phone)
        await _no_sideways_scroll(phone)
        await request.get_by_role("textbox").fill(ANSWER)
        await request.get_by_role("button", name="فرستادن پاسخ").click()
        await expect(phone.locator("article.request")).to_contain_text("پاسخ شما")
    finally:
        await phone_context.close()

    # The inspector again: the answer, the investigation, the findings and the result.
    await log_in(page, url, "inspector", PASSWORD, landing="/inspection")
    await page.goto(f"{url}/inspection/complaints/{complaint.id}")
    await expect(page.locator("#request-list")).to_contain_text(ANSWER)
    await page.locator("#action-investigate").get_by_role("button", name="شروع بازرسی").click()
    findings = page.locator("#action-record_findings")
    await findings.get_by_label("یافته‌های بازرسی").fill(FINDINGS)
    await findings.get_by_role("button", name="ثبت یافته‌ها").click()
    close = page.locator("#action-close")
    await close.get_by_role("textbox").fill(RESULT)
    await close.get_by_role("button", name="بستن با اعلام نتیجه").click()
    await expect(page.locator("#case-status")).to_have_text(STATUS_NAMES[ComplaintStatus.CLOSED])
    await expect(page.locator("#message-list")).to_contain_text(RESULT)
    await expect(page.locator("#transitions li")).to_have_count(5)
    await assert_accessible(page)

    # The complainant is told: the result is their follow-up page's message, and an SMS points there.
    with unit_of_work(engine) as session:
        closed = session.get(Complaint, complaint.id)
        results = session.exec(select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint.id,
                                                              ComplaintMessage.is_result)).all()
        texts = session.exec(select(SmsMessage).where(SmsMessage.dedup_key == f"complaint-close:{complaint.id}")).all()
    assert closed is not None and (closed.status, closed.result) == (ComplaintStatus.CLOSED, RESULT)
    assert [message.body for message in results] == [RESULT]
    assert [(text.to_number, text.forget_number) for text in texts] == [(COMPLAINANT.mobile, True)]
    assert code in texts[0].body and "/complaints/follow" in texts[0].body

    # On their phone, the complainant opens the follow-up page by their mobile and the code texted, and reads it.
    citizen_context = await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran")
    try:
        citizen = await citizen_context.new_page()
        await citizen.goto(f"{url}/complaints/follow")
        by_mobile = citizen.locator("#by-mobile")
        await by_mobile.get_by_label("کد پیگیری شکایت").fill(code)
        await by_mobile.get_by_label("شمارهٔ تلفن همراه").fill(persian_digits(COMPLAINANT.mobile))
        await by_mobile.get_by_role("button", name="فرستادن کد تأیید").click()
        await by_mobile.get_by_label("کد تأیید").fill(latest_phone_code(engine, COMPLAINANT.mobile))
        await by_mobile.get_by_role("button", name="باز کردن شکایت").click()
        await expect(citizen).to_have_url(f"{url}/complaints/case")
        await expect(citizen.locator("#case-status")).to_have_text(STATUS_NAMES[ComplaintStatus.CLOSED])
        await expect(citizen.locator("#case-result")).to_contain_text(RESULT)
        shown = await citizen.locator("main").inner_text()
        for internal in (FINDINGS, QUESTION, ANSWER):  # the office's workings are not the complainant's to read
            assert internal not in shown
        await assert_accessible(citizen)
        await _no_sideways_scroll(citizen)
    finally:
        await citizen_context.close()
