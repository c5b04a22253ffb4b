"""An inspector publishes meeting slots; a named complainant (their browser holding the complaint's pass) books one,
reschedules, is told when the time they picked was just taken, and cancels; the inspector's day view shows the
booking and then not. At 360×740 and 1366×768, the public page checked with axe-core at every step."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from callcenter.complaints import meetings
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.calendar import in_tehran, jalali_day_label, jalali_input
from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import MeetingSlot, Role, SmsMessage, utcnow
from tests.browser.conftest import VIEWPORT, WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.meetings import (
    MOBILE,
    filed_complaint,
    meeting_settings,
    next_working_day,
    pass_cookie,
)
from tests.support.ticket_flow import PASSWORD, add_staff

pytestmark = [pytest.mark.browser]
PHONE = {"width": 360, "height": 740}
PLACE = "ساختمان مرکزی، طبقه دوم، اتاق ۲۰۴"


async def complainant_page(chromium: Browser, backend: WebBackend, viewport: dict[str, int],
                           cookie: str) -> tuple[BrowserContext, Page]:
    context = await chromium.new_context(viewport=viewport, locale="fa-IR", timezone_id="Asia/Tehran",
                                         is_mobile=viewport == PHONE, has_touch=viewport == PHONE)
    await context.add_cookies([{"name": "pasokh_complaint", "value": cookie, "domain": "127.0.0.1",
                                "path": "/complaints", "httpOnly": True, "sameSite": "Strict"}])
    return context, await context.new_page()


async def fits_the_width(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


@pytest.mark.parametrize("viewport", [PHONE, VIEWPORT], ids=["phone", "desktop"])
async def test_given_published_slots_when_a_complainant_books_reschedules_and_cancels_then_the_day_view_follows(
    engine: sa.Engine, web_backend: WebBackend, chromium: Browser, database_url: str, viewport: dict[str, int],
) -> None:
    settings = meeting_settings(database_url)
    day = next_working_day(meetings.office_hours(settings), in_tehran(utcnow()).date())
    add_staff(engine, "meetings.inspector", Role.INSPECTOR, unit="مدیریت بازرسی")
    complaint = filed_complaint(engine, settings)
    assert complaint.id is not None
    code = persian_digits(format_for_reading(complaint.tracking_code))

    staff_context = await chromium.new_context(viewport=viewport, locale="fa-IR", timezone_id="Asia/Tehran")
    staff = await staff_context.new_page()
    await log_in(staff, web_backend.url, "meetings.inspector", PASSWORD)
    await staff.goto(web_backend.url + "/inspection/meetings")
    await staff.get_by_label("از روز (تاریخ شمسی)").fill(jalali_input(day))
    await staff.get_by_label("تا روز (تاریخ شمسی)").fill(jalali_input(day))
    await staff.get_by_label("از ساعت").fill("09:00")
    await staff.get_by_label("تا ساعت").fill("10:00")
    await staff.get_by_label("هر چند دقیقه یک وقت").fill("۳۰")
    await staff.get_by_label("مدت هر دیدار (دقیقه)").fill("30")
    await staff.get_by_label("ظرفیت هر وقت (نفر)").fill("1")
    await staff.get_by_label("محل دیدار").fill(PLACE)
    await staff.get_by_role("button", name="انتشار وقت‌ها").click()
    await expect(staff.locator("#meetings-flash")).to_have_text("۲ وقت دیدار منتشر شد.")
    await expect(staff.get_by_role("heading", level=1)).to_have_text(f"دیدارهای {jalali_day_label(day)}")
    slot_rows = staff.locator("#meetings-slots tbody tr")
    await expect(slot_rows).to_have_count(2)

    context, page = await complainant_page(chromium, web_backend, viewport, pass_cookie(settings, complaint.id))
    try:
        await page.goto(web_backend.url + "/complaints/meeting")
        await expect(page.locator("#meeting-code")).to_have_text(code)
        await expect(page.locator(f"#day-{day.isoformat()} legend")).to_have_text(jalali_day_label(day))
        await assert_accessible(page)
        await fits_the_width(page)
        await page.get_by_label("ساعت ۰۹:۰۰").check()
        await page.get_by_role("button", name="ثبت وقت انتخاب‌شده").click()
        await expect(page.locator("#meeting-done")).to_contain_text("وقت دیدار شما ثبت شد.")
        await expect(page.locator("#meeting-when")).to_have_text(f"{jalali_day_label(day)}، ساعت ۰۹:۰۰")
        await assert_accessible(page)
        await fits_the_width(page)

        await staff.reload()
        await expect(slot_rows.nth(0).get_by_role("link", name=code)).to_have_attribute(
            "href", f"/inspection/complaints/{complaint.id}")
        await expect(slot_rows.nth(0)).to_contain_text("۱ از ۱")

        await page.get_by_label("ساعت ۰۹:۳۰").check()
        await page.get_by_role("button", name="تغییر به وقت انتخاب‌شده").click()
        await expect(page.locator("#meeting-done")).to_contain_text("وقت دیدار شما تغییر کرد.")
        await expect(page.locator("#meeting-when")).to_have_text(f"{jalali_day_label(day)}، ساعت ۰۹:۳۰")

        # 09:00 is free again and on the page; someone else takes it before this complainant clicks.
        await page.get_by_label("ساعت ۰۹:۰۰").check()
        other = filed_complaint(engine, settings, anonymous=True)
        with unit_of_work(engine) as session:
            nine = session.exec(select(MeetingSlot).order_by(col(MeetingSlot.starts_at))).first()
            assert nine is not None and nine.id is not None
            meetings.book(session, settings, complaint=other, slot_id=nine.id, now=utcnow())
        await page.get_by_role("button", name="تغییر به وقت انتخاب‌شده").click()
        await expect(page.get_by_role("alert")).to_have_text("این وقت همین حالا گرفته شد؛ وقت دیگری را انتخاب کنید.")
        await expect(page.locator("#meeting-when")).to_have_text(f"{jalali_day_label(day)}، ساعت ۰۹:۳۰")
        await expect(page.get_by_label("ساعت ۰۹:۰۰")).to_have_count(0)  # no longer offered
        await assert_accessible(page)

        await page.get_by_role("button", name="لغو وقت دیدار").click()
        await expect(page.locator("#meeting-done")).to_contain_text("وقت دیدار شما لغو شد.")
        await expect(page.locator("#meeting-current")).to_have_count(0)
        await expect(page.get_by_label("ساعت ۰۹:۳۰")).to_have_count(1)  # free again
        await assert_accessible(page)

        await staff.reload()
        await expect(staff.get_by_role("link", name=code)).to_have_count(0)
        await expect(slot_rows.nth(0)).to_contain_text("۱ از ۱")  # the other complainant's booking
        await expect(slot_rows.nth(1)).to_contain_text("۰ از ۱")
    finally:
        await context.close()
        await staff_context.close()

    with unit_of_work(engine) as session:
        texts = session.exec(select(SmsMessage).where(SmsMessage.to_number == MOBILE)
                             .order_by(col(SmsMessage.id))).all()
        kinds = [(message.dedup_key or "").split(":")[0] for message in texts]
    assert kinds == ["meeting-booked", "meeting-moved", "meeting-cancelled"]


async def test_given_no_pass_when_the_meeting_page_opens_then_it_points_to_the_follow_up_page(
    web_backend: WebBackend, chromium: Browser,
) -> None:
    context = await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran")
    page = await context.new_page()
    try:
        await page.goto(web_backend.url + "/complaints/meeting")
        await expect(page.locator("#meeting-no-pass")).to_be_visible()
        await expect(page.get_by_role("link", name="پیگیری شکایت")).to_have_attribute("href", "/complaints/follow")
        await assert_accessible(page)
    finally:
        await context.close()

