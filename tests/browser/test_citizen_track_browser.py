"""A citizen on a phone (360×740, Debian chromium, no login) follows a request by tracking code and mobile digits,
and answers the SMS link "not solved" with words and a photo; the unit's liaison finds the ticket back in the
inbox with those words. Every public page passes axe-core."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, select

from callcenter.citizens.timeline import NO_MATCH, PUBLIC_STATUS_LABELS, PUBLIC_STEP_LABELS
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import OnlineAnswer, Role, SmsMessage, TicketAction, TicketStatus
from tests.browser.conftest import VIEWPORT, WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.backend import SUPERVISOR
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_ticket, status_of, steps_of

pytestmark = [pytest.mark.browser]
A, S = TicketAction, TicketStatus
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CITIZEN_WORDS = "کیسه‌های زباله هنوز کنار جوی آب مانده است"


def accepted_ticket(engine: sa.Engine) -> Filed:
    operator = add_staff(engine, "citizen.operator", Role.OPERATOR)
    liaison = add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE, description="سطل زباله سر کوچه پر است")
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
    return ticket


async def phone_page(chromium: Browser) -> tuple[BrowserContext, Page]:
    context = await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran",
                                         is_mobile=True, has_touch=True)
    return context, await context.new_page()


async def fits_the_width(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone"


async def test_given_a_tracking_code_and_mobile_digits_when_the_citizen_looks_it_up_then_the_public_timeline(
    engine: sa.Engine, web_backend: WebBackend, chromium: Browser,
) -> None:
    ticket = accepted_ticket(engine)
    context, page = await phone_page(chromium)
    try:
        await page.goto(web_backend.url + "/citizen/track")
        await assert_accessible(page)
        await fits_the_width(page)
        persian_code = ticket.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        await page.get_by_label("کد رهگیری").fill(persian_code)
        await page.get_by_label("چهار رقم آخر شماره همراه").fill("۱۱۱۱")
        await page.get_by_role("button", name="نمایش وضعیت").click()
        await expect(page.get_by_role("alert")).to_have_text(NO_MATCH)  # and the code is still in the field
        await expect(page.get_by_label("کد رهگیری")).to_have_value(persian_code)
        await assert_accessible(page)

        await page.get_by_label("چهار رقم آخر شماره همراه").fill("۴۵۶۷")
        await page.get_by_role("button", name="نمایش وضعیت").click()
        await expect(page.locator("#track-status")).to_have_text(PUBLIC_STATUS_LABELS[S.ACCEPTED])
        steps = page.locator("#timeline li")
        await expect(steps).to_have_count(3)  # filed, referred, accepted
        await expect(steps.nth(1)).to_contain_text(f"{PUBLIC_STEP_LABELS[A.REFER]}: {WASTE}")
        await expect(steps.nth(2)).to_contain_text(PUBLIC_STEP_LABELS[A.ACCEPT])
        assert "citizen.operator" not in await page.content()
        assert "/citizen/s/" in page.url
        await assert_accessible(page)
        await fits_the_width(page)
        await page.evaluate("document.fonts.ready.then(() => true)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "citizen-track.png"), full_page=True)
    finally:
        await context.close()


def answer_link_from_the_outbox(engine: sa.Engine) -> str:
    """What the citizen's phone received: the SMS text's last line is the link."""
    with Session(engine) as session:
        online = session.exec(select(OnlineAnswer)).one()
        sms = session.exec(select(SmsMessage).where(SmsMessage.dedup_key == f"online-answer:{online.id}")).one()
    return sms.body.splitlines()[-1]


async def test_given_a_ticket_reported_done_when_the_citizen_answers_not_solved_online_then_it_is_back_in_the_inbox(
    engine: sa.Engine, web_backend: WebBackend, chromium: Browser, console_page: Page, tmp_path: Path,
) -> None:
    ticket = accepted_ticket(engine)
    liaison = console_page
    await log_in(liaison, web_backend.url, "waste.liaison", PASSWORD, landing="/inbox")
    row = liaison.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await row.get_by_label("توضیح").fill("سطل‌ها تخلیه و محل شسته شد")
    await row.get_by_role("button", name="اعلام انجام کار").click()
    await expect(row).to_have_count(0)

    photo = tmp_path / "still-there.jpg"
    photo.write_bytes(image_bytes("JPEG"))
    context, page = await phone_page(chromium)
    link = answer_link_from_the_outbox(engine)
    try:
        await page.goto(link)
        await assert_accessible(page)
        await fits_the_width(page)
        await page.get_by_label("نه، مشکل هنوز هست").check()
        await page.get_by_label("توضیح (اختیاری)").fill(CITIZEN_WORDS)
        await page.get_by_label("عکس (اختیاری)").set_input_files(str(photo))
        await page.get_by_role("button", name="ثبت پاسخ").click()
        await expect(page.locator("#answer-recorded")).to_contain_text("دوباره به واحد مسئول")
        await assert_accessible(page)
        await page.goto(link)  # the link, opened again: the answer is already recorded
        await expect(page.locator("#answer-already")).to_be_visible()
    finally:
        await context.close()
    assert status_of(engine, ticket) == S.REOPENED
    assert steps_of(engine, ticket)[-1][::3] == (A.VERIFY_NOT_RESOLVED, CITIZEN_WORDS)

    # The liaison's inbox, left open: the ticket comes back live, with the citizen's words.
    back = liaison.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await expect(back).to_contain_text(CITIZEN_WORDS)
    await expect(back).to_have_attribute("data-status", "reopened")

    # The supervisors' verification page says the citizen answered online (no call of theirs recorded it).
    supervisor_context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR", timezone_id="Asia/Tehran")
    try:
        supervisor = await supervisor_context.new_page()
        await log_in(supervisor, web_backend.url, SUPERVISOR.username, SUPERVISOR.password, landing="/console")
        await supervisor.goto(web_backend.url + "/verifications")
        answered = supervisor.locator("#online-answers tbody tr")
        await expect(answered).to_have_count(1)
        await expect(answered).to_contain_text(CITIZEN_WORDS)
        await expect(answered).to_contain_text("رفع نشده")
    finally:
        await supervisor_context.close()
