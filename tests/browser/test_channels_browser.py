"""Every channel, one model, in the staff's pages: a liaison's inbox says which channel each ticket came in by, the
wallboard counts today's tickets per channel and the scorecard its receipts per channel."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, TicketAction, TicketSource
from tests.browser.conftest import WebBackend, log_in
from tests.support.backend import SUPERVISOR
from tests.support.channels import filed_through
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket

pytestmark = [pytest.mark.browser]


async def test_given_tickets_from_the_phone_the_web_and_open311_when_staff_open_their_pages_then_each_channel_shows(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, url = console_page, web_backend.engine, web_backend.url
    operator = add_staff(engine, "ch-operator", Role.OPERATOR)
    add_staff(engine, "ch-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "ch-mayor", Role.VIEWER)
    by_phone = referred_ticket(engine, by=operator, unit=WASTE)
    online = filed_through(engine, TicketSource.WEB)
    from_an_app = filed_through(engine, TicketSource.OPEN311)

    await log_in(page, url, "ch-waste", PASSWORD, landing="/inbox")
    for ticket, channel in ((by_phone, "تلفن"), (online, "سامانه اینترنتی"),
                            (from_an_app, "برنامه‌های همکار (اپن ۳۱۱)")):
        row = page.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
        await expect(row.locator(".source")).to_have_text(channel)
    await page.get_by_role("button", name="خروج").click()
    await expect(page).to_have_url(url + "/login")

    await log_in(page, url, "ch-mayor", PASSWORD, landing="/wallboard")
    await expect(page.locator("#kpi-channels")).to_have_text(
        "تلفن ۱ · سامانه اینترنتی ۱ · حضوری ۰ · برنامه‌های همکار (اپن ۳۱۱) ۱")
    await page.goto(url + "/scorecard")
    await expect(page.locator("#channels")).to_have_text(
        "تلفن ۱ · سامانه اینترنتی ۱ · حضوری ۰ · برنامه‌های همکار (اپن ۳۱۱) ۱")
    waste = page.locator("#units tbody tr").filter(has_text=WASTE)
    await expect(waste.locator("td").last).to_have_text(
        "تلفن ۱ · سامانه اینترنتی ۱ · حضوری ۰ · برنامه‌های همکار (اپن ۳۱۱) ۱")


async def test_given_a_ticket_filed_online_and_reported_done_when_a_supervisor_opens_the_verifications_then_web_shows(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, url = console_page, web_backend.engine, web_backend.url
    liaison = add_staff(engine, "ch-liaison", Role.UNIT_LIAISON, unit=WASTE)
    online = filed_through(engine, TicketSource.WEB)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=online.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=online.id, action=TicketAction.REPORT_DONE, actor=liaison, note="انجام شد")

    await log_in(page, url, SUPERVISOR.username, SUPERVISOR.password, landing="/console")
    await page.goto(url + "/verifications")

    row = page.locator(f'#verifications tr[data-code="{online.tracking_code}"]')
    await expect(row.locator(".source")).to_have_text("سامانه اینترنتی")
