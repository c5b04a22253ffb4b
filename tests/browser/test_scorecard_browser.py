"""The mayor's office reads the units' scorecard in the browser: a unit that did its work on time ranks first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect
from sqlmodel import Session

from callcenter.lifecycle import apply_action
from callcenter.scorecard import jalali_month_window
from db.models import Role, TicketAction
from tests.browser.conftest import WebBackend
from tests.support.ticket_flow import GREENERY, PASSWORD, WASTE, add_staff, referred_long_ago, referred_ticket

pytestmark = [pytest.mark.browser]
MEHR = 7


async def test_given_two_units_when_the_mayors_office_opens_the_scorecard_then_the_punctual_one_ranks_first(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, backend = console_page, web_backend.engine, web_backend
    operator = add_staff(engine, "sc-operator", Role.OPERATOR)
    waste = add_staff(engine, "sc-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "sc-mayor", Role.VIEWER)
    punctual = referred_ticket(engine, by=operator, unit=WASTE)
    late = referred_ticket(engine, by=operator, unit=GREENERY, description="درخت شکسته در پارک")
    with Session(engine) as session:
        apply_action(session, ticket_id=punctual.id, action=TicketAction.ACCEPT, actor=waste)
        apply_action(session, ticket_id=punctual.id, action=TicketAction.REPORT_DONE, actor=waste,
                     note="سطل‌ها تخلیه شد")
    # Both histories move to the middle of Mehr 1405 (the month the page is asked for): the waste unit reported
    # within minutes; the greenery ticket is still open weeks past any deadline.
    mid_mehr = jalali_month_window(1405, MEHR)[0] + timedelta(days=10)
    for ticket in (punctual, late):
        referred_long_ago(engine, ticket, by=datetime.now(UTC) - mid_mehr)

    await page.goto(backend.url + "/login")
    await page.get_by_label("نام کاربری", exact=True).fill("sc-mayor")
    await page.get_by_label("گذرواژه", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="ورود", exact=True).click()
    await expect(page).to_have_url(backend.url + "/wallboard")
    await page.goto(backend.url + "/scorecard")
    await page.locator("#year").fill("1405")
    await page.locator("#month").select_option(str(MEHR))
    await page.get_by_role("button", name="نمایش").click()
    await expect(page.locator("#period")).to_have_text("مهر ۱۴۰۵")

    rows = page.locator("#units tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0).locator("td").nth(1)).to_have_text(WASTE)
    await expect(rows.nth(0).locator("td").nth(3)).to_have_text("۱۰۰٪")  # answered on time
    await expect(rows.nth(1).locator("td").nth(1)).to_have_text(GREENERY)
    await expect(rows.nth(1).locator("td").nth(3)).to_have_text("۰٪")  # open past its deadline: late
    assert await page.evaluate("Chart.getChart('score-chart').data.labels.length") == 2
