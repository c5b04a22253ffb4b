"""The citizens' forms in Debian's chromium on a phone's screen (360×740), driven as a citizen would: a problem
reported with a photo (a wrong file type refused in Persian first), the SMS code read from the outbox, a reload
mid-form keeping what was typed; 1888 feedback sent anonymously, and with JavaScript off a named one verified with
the form's own «send code» button. Every page passes axe-core with no serious or critical violation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from db.engine import unit_of_work
from db.models import Ticket, TicketAttachment, TicketSource
from tests.browser.conftest import WebBackend
from tests.support.axe import assert_accessible
from tests.support.citizen_forms import code_as_shown, latest_phone_code
from tests.support.photos import FAKE_JPEG, image_bytes

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}
MOBILE = "09121234567"


async def phone_context(chromium: Browser, *, javascript: bool = True) -> BrowserContext:
    return await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran",
                                      java_script_enabled=javascript)


@pytest.fixture
async def phone(chromium: Browser) -> AsyncIterator[Page]:
    """A phone's tab; uncaught JavaScript errors fail the test."""
    context = await phone_context(chromium)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == [], errors


def sms_code(engine: sa.Engine) -> str:
    return latest_phone_code(engine, MOBILE)


def tickets(engine: sa.Engine) -> list[Ticket]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(Ticket)).all())


async def assert_fits_the_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"


async def test_given_a_citizen_on_a_phone_when_they_report_a_problem_with_a_photo_then_it_is_filed_and_coded(
    engine: sa.Engine, web_backend: WebBackend, phone: Page, tmp_path: Path,
) -> None:
    page = phone
    await page.goto(web_backend.url + "/citizen/report")
    await expect(page.get_by_role("heading", name="گزارش مشکل شهری (۱۳۷)")).to_be_visible()
    await assert_accessible(page)
    await assert_fits_the_phone(page)

    await page.get_by_label("موضوع").select_option(label="جمع‌آوری زباله")
    district = page.get_by_label("منطقهٔ شهرداری")
    await district.select_option(index=1)
    chosen_district = await district.input_value()
    await page.get_by_label("نشانی محل").fill("خیابان فردوسی، کوچهٔ ۱۲")
    await page.get_by_label("شرح مشکل").fill("سطل زبالهٔ سر کوچه دو روز است خالی نشده")
    await page.get_by_label("شمارهٔ تلفن همراه").fill("۰۹۱۲۱۲۳۴۵۶۷")

    await page.reload()  # the draft survives a reload (not the photos, not a code)
    await expect(page.get_by_label("نشانی محل")).to_have_value("خیابان فردوسی، کوچهٔ ۱۲")
    await expect(page.get_by_label("شرح مشکل")).to_have_value("سطل زبالهٔ سر کوچه دو روز است خالی نشده")
    await expect(district).to_have_value(chosen_district)
    await expect(page.get_by_label("شمارهٔ تلفن همراه")).to_have_value("۰۹۱۲۱۲۳۴۵۶۷")

    await page.get_by_role("button", name="فرستادن کد تأیید").click()  # in place, without leaving the page
    await expect(page.locator("#code-notice")).to_contain_text("کد تأیید به شمارهٔ ۰۹۱۲۱۲۳۴۵۶۷ پیامک شد")
    await page.get_by_label("کد تأیید").fill(sms_code(engine))

    not_a_photo = tmp_path / "photo.jpg"
    not_a_photo.write_bytes(FAKE_JPEG)
    await page.get_by_label("عکس (اختیاری)").set_input_files(not_a_photo)
    await page.get_by_role("button", name="ثبت درخواست").click()
    await expect(page.locator("#photos-error")).to_have_text("فایل «photo.jpg» عکس JPEG، PNG یا WebP نیست.")
    await expect(page.locator("#photos-again")).to_contain_text("دوباره انتخاب کنید")
    await expect(page.get_by_label("شرح مشکل")).to_have_value("سطل زبالهٔ سر کوچه دو روز است خالی نشده")
    assert tickets(engine) == []
    await assert_accessible(page)

    photo = tmp_path / "bin.png"
    photo.write_bytes(image_bytes("PNG", size=(120, 90), colour="tomato"))
    await page.get_by_label("عکس (اختیاری)").set_input_files(photo)
    await page.get_by_role("button", name="ثبت درخواست").click()

    await expect(page.get_by_role("heading", name="درخواست شما ثبت شد")).to_be_visible()
    [ticket] = tickets(engine)
    await expect(page.locator("#tracking-code")).to_have_text(code_as_shown(ticket.tracking_code))
    await expect(page.get_by_text("این کد به شمارهٔ همراه شما پیامک شد.")).to_be_visible()
    assert (ticket.source, ticket.caller_number, str(ticket.district_id)) == (TicketSource.WEB, MOBILE,
                                                                              chosen_district)
    with unit_of_work(engine) as session:
        [stored] = session.exec(select(TicketAttachment)).all()
    assert (stored.ticket_id, stored.content_type, stored.transition_id) == (ticket.id, "image/png", None)
    await assert_accessible(page)

    await page.goto(web_backend.url + "/citizen/report")  # a filed form leaves no draft behind
    await expect(page.get_by_label("شرح مشکل")).to_have_value("")


async def test_given_a_citizen_on_a_phone_when_they_send_anonymous_feedback_then_no_mobile_is_asked_or_kept(
    engine: sa.Engine, web_backend: WebBackend, phone: Page,
) -> None:
    page = phone
    await page.goto(web_backend.url + "/citizen/feedback")
    await assert_accessible(page)
    await assert_fits_the_phone(page)

    await page.get_by_label("انتقاد").check()
    await page.get_by_label("موضوع").select_option(index=1)
    await page.get_by_label("متن پیام").fill("مأمور پارکینگ با شهروندان تند برخورد می‌کند")
    await page.get_by_label("بی‌نام بفرست").check()
    await expect(page.get_by_label("شمارهٔ تلفن همراه")).to_be_hidden()

    await page.reload()
    await expect(page.get_by_label("متن پیام")).to_have_value("مأمور پارکینگ با شهروندان تند برخورد می‌کند")
    await expect(page.get_by_label("انتقاد")).to_be_checked()
    await expect(page.get_by_label("بی‌نام بفرست")).to_be_checked()
    await expect(page.get_by_label("شمارهٔ تلفن همراه")).to_be_hidden()

    await page.get_by_role("button", name="ثبت پیام").click()

    await expect(page.get_by_role("heading", name="درخواست شما ثبت شد")).to_be_visible()
    [ticket] = tickets(engine)
    await expect(page.locator("#tracking-code")).to_have_text(code_as_shown(ticket.tracking_code))
    assert (ticket.anonymous, ticket.caller_number, ticket.line, ticket.feedback_kind) == (True, None, "1888",
                                                                                         "criticism")
    await assert_accessible(page)


async def test_given_javascript_off_when_a_citizen_sends_named_feedback_then_the_code_button_and_the_form_still_work(
    engine: sa.Engine, web_backend: WebBackend, chromium: Browser,
) -> None:
    context = await phone_context(chromium, javascript=False)
    page = await context.new_page()
    await page.goto(web_backend.url + "/citizen/feedback")
    await expect(page.get_by_label("کد تأیید")).to_be_hidden()  # until a code is sent

    await page.get_by_label("قدردانی").check()
    await page.get_by_label("موضوع").select_option(index=1)
    await page.get_by_label("متن پیام").fill("از کارکنان منطقهٔ ۳ برای پاسخ سریع سپاسگزارم")
    await page.get_by_label("شمارهٔ تلفن همراه").fill(MOBILE)
    await page.get_by_role("button", name="فرستادن کد تأیید").click()  # a plain post: the form comes back

    await expect(page.locator("#code-notice")).to_contain_text("پیامک شد")
    await expect(page.get_by_label("متن پیام")).to_have_value("از کارکنان منطقهٔ ۳ برای پاسخ سریع سپاسگزارم")
    await expect(page.get_by_label("قدردانی")).to_be_checked()
    await page.get_by_label("کد تأیید").fill(sms_code(engine))
    await page.get_by_label("کد تأیید").press("Enter")  # Enter files the form; it does not send another code

    await expect(page.get_by_role("heading", name="درخواست شما ثبت شد")).to_be_visible()
    [ticket] = tickets(engine)
    assert (ticket.caller_number, ticket.anonymous, ticket.feedback_kind) == (MOBILE, False, "appreciation")
    await context.close()
