"""The complaint form in Debian's chromium at a phone's size (360×740) and a desk monitor's (1366×768), driven as a
citizen would: every step with a refresh mid-way and the browser's back and forward buttons losing nothing, a wrong
attachment type refused in Persian with the draft kept, a named complaint verified by the SMS code read from the
outbox, and an anonymous one shown its receipt once. Every step passes axe-core with no serious or critical
violation, and no page scrolls sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect
from sqlmodel import select

from callcenter.complaints.identity import unseal
from callcenter.complaints.names import GROUND_NAMES
from callcenter.complaints.receipts import receipt_matches
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import Complaint, ComplaintAttachment, ComplaintGround
from tests.browser.conftest import WebBackend
from tests.support.axe import assert_accessible
from tests.support.citizen_forms import latest_phone_code
from tests.support.complaint_form import MOBILE, WASTE, a_ticket, unit_named
from tests.support.photos import image_bytes

pytestmark = [pytest.mark.browser]

SIZES = {"phone": {"width": 360, "height": 740}, "desk": {"width": 1366, "height": 768}}


@pytest.fixture(params=sorted(SIZES))
async def page(request: pytest.FixtureRequest, chromium: Browser) -> AsyncIterator[Page]:
    """A tab at each size; uncaught JavaScript errors fail the test."""
    size = SIZES[request.param]
    context = await chromium.new_context(viewport=size, locale="fa-IR", timezone_id="Asia/Tehran")  # type: ignore[arg-type]
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    await context.close()
    assert errors == [], errors


async def checked(page: Page) -> None:
    """axe-core and the width: the step as the citizen sees it now."""
    await assert_accessible(page)
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"], f"the page scrolls sideways: {width}px"


async def next_step(page: Page, title: str) -> None:
    await page.get_by_role("button", name="مرحلهٔ بعد").click()
    await expect(page.locator("#step-title")).to_have_text(title)
    await checked(page)


def complaints(engine: sa.Engine) -> list[Complaint]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(Complaint)).all())


async def test_given_a_citizen_when_they_file_a_named_complaint_with_a_refresh_back_and_forward_then_nothing_is_lost(
    engine: sa.Engine, web_backend: WebBackend, page: Page, tmp_path: Path,
) -> None:
    ticket_code = a_ticket(engine)
    waste = str(unit_named(engine, WASTE))
    await page.goto(web_backend.url + "/complaints/")
    await checked(page)
    await page.get_by_role("link", name="شروع ثبت شکایت").click()
    await expect(page.locator("#step-title")).to_have_text("دربارهٔ چه کسی")
    await checked(page)
    await page.get_by_label("واحد", exact=True).select_option(value=waste)
    await page.get_by_label("نام", exact=True).fill("آقای رضایی")
    await page.get_by_label("کد پرسنلی").fill("۱۲۳۴۵")
    await next_step(page, "موضوع شکایت")

    await page.reload()  # a refresh mid-way: the server's draft is shown again
    await page.go_back()  # and the browser's back button: the first step as it was saved
    await expect(page.get_by_label("واحد", exact=True)).to_have_value(waste)
    await expect(page.get_by_label("نام", exact=True)).to_have_value("آقای رضایی")
    await page.go_forward()
    await expect(page.locator("#step-title")).to_have_text("موضوع شکایت")
    await page.get_by_label(GROUND_NAMES[ComplaintGround.DELAY]).check()
    await next_step(page, "شرح رویداد")

    await page.get_by_label("چه اتفاقی افتاده است؟").fill("درخواست ۱۳۷ من دو ماه است بی‌پاسخ مانده است")
    await page.get_by_label("روز", exact=True).select_option(value="3")
    await page.get_by_label("ماه", exact=True).select_option(value="2")
    await page.get_by_label("سال", exact=True).select_option(value="1403")
    await page.get_by_label("کجا؟ (اختیاری)").fill("ساختمان مرکزی")
    await page.get_by_label("کدهای رهگیری ۱۳۷ مرتبط (اختیاری)").fill(persian_digits(ticket_code))
    await page.get_by_role("button", name="مرحلهٔ قبل").click()  # the form's own back button keeps the story too
    await expect(page.locator("#step-title")).to_have_text("موضوع شکایت")
    await next_step(page, "شرح رویداد")
    await expect(page.get_by_label("کجا؟ (اختیاری)")).to_have_value("ساختمان مرکزی")
    await next_step(page, "پیوست‌ها")

    not_accepted = tmp_path / "notes.pdf"
    not_accepted.write_text("only text, whatever its name says")
    await page.get_by_label("افزودن پیوست (اختیاری)").set_input_files(not_accepted)
    await page.get_by_role("button", name="افزودن فایل‌ها").click()
    await expect(page.locator("#attachments-error")).to_contain_text("فایل «notes.pdf» پذیرفته نمی‌شود")
    await checked(page)
    photo = tmp_path / "street.png"
    photo.write_bytes(image_bytes("PNG", size=(120, 90), colour="tomato"))
    await page.get_by_label("افزودن پیوست (اختیاری)").set_input_files(photo)
    await page.get_by_role("button", name="افزودن فایل‌ها").click()
    await expect(page.locator("#files-notice")).to_have_text("۱ پیوست افزوده شد.")
    await next_step(page, "هویت شما")

    await page.get_by_label("با نام").check()
    await page.get_by_label("نام و نام خانوادگی").fill("مریم احمدی")
    await page.get_by_label("شمارهٔ تلفن همراه").fill("۰۹۱۲۱۲۳۴۵۶۷")
    await page.get_by_role("button", name="فرستادن کد تأیید").click()
    await expect(page.locator("#code-notice")).to_contain_text("کد تأیید به شمارهٔ ۰۹۱۲۱۲۳۴۵۶۷ پیامک شد")
    await checked(page)
    await page.get_by_label("کد تأیید").fill(latest_phone_code(engine, MOBILE))
    await next_step(page, "درخواست ملاقات")
    await page.get_by_label("درخواست ملاقات حضوری دارم").check()
    await next_step(page, "بازبینی و ثبت")
    await expect(page.locator("#review")).to_contain_text("مریم احمدی")
    await expect(page.locator("#review")).to_contain_text("۳ اردیبهشت ۱۴۰۳")

    await page.get_by_role("button", name="ثبت شکایت").click()
    await expect(page.get_by_role("heading", name="شکایت شما ثبت شد")).to_be_visible()
    await checked(page)
    [complaint] = complaints(engine)
    await expect(page.locator("#tracking-code")).to_have_text(persian_digits(format_for_reading(
        complaint.tracking_code)))
    await expect(page.get_by_role("link", name="انتخاب نوبت ملاقات حضوری")).to_have_attribute(
        "href", "/complaints/meeting")
    assert (complaint.ground, complaint.occurred_on, complaint.anonymous) == (ComplaintGround.DELAY, "2024-04-22",
                                                                              False)
    assert complaint.identity_sealed is not None
    assert unseal(web_backend.services.settings, complaint.identity_sealed).mobile == MOBILE
    with unit_of_work(engine) as session:
        [attachment] = session.exec(select(ComplaintAttachment)).all()
    assert (attachment.complaint_id, attachment.draft_id) == (complaint.id, None)


async def test_given_a_citizen_when_they_file_anonymously_then_the_receipt_is_shown_once_with_a_warning(
    engine: sa.Engine, web_backend: WebBackend, page: Page,
) -> None:
    await page.goto(web_backend.url + "/complaints/new")
    await page.get_by_label("واحد", exact=True).select_option(value=str(unit_named(engine, WASTE)))
    await next_step(page, "موضوع شکایت")
    await page.get_by_label(GROUND_NAMES[ComplaintGround.PUBLIC_PROPERTY_WASTE]).check()
    await next_step(page, "شرح رویداد")
    await page.get_by_label("چه اتفاقی افتاده است؟").fill("خودروی اداره برای کار شخصی استفاده می‌شود")
    await next_step(page, "پیوست‌ها")
    await next_step(page, "هویت شما")
    await page.get_by_label("بی‌نام").check()
    await expect(page.get_by_label("نام و نام خانوادگی")).to_be_hidden()  # the script hides what is not asked
    await next_step(page, "درخواست ملاقات")
    await next_step(page, "بازبینی و ثبت")
    await page.get_by_role("button", name="ثبت شکایت").click()

    await expect(page.get_by_role("heading", name="رسید شکایت بی‌نام")).to_be_visible()
    await expect(page.locator("#receipt-warning")).to_contain_text("فقط همین یک بار نشان داده می‌شود")
    await checked(page)
    receipt = await page.locator("#receipt").inner_text()
    [complaint] = complaints(engine)
    assert receipt_matches(receipt, complaint.receipt_hash)
    assert (complaint.anonymous, complaint.identity_sealed) == (True, None)

    await page.goto(web_backend.url + "/complaints/new")  # a new form: the filed draft is gone
    await expect(page.get_by_label("واحد", exact=True)).to_have_value("")
    assert receipt not in await page.content()
