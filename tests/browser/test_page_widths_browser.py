"""Every page at a desk monitor's size (1366×768) and a phone's (360×740): nothing scrolls sideways and the page's
title bar and headings stay whole on the screen, each page seen by the role that works on it, with rows in its
tables."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, BrowserContext, Page, expect

from db.models import Role, TicketPriority
from tests.browser.conftest import WebBackend, log_in
from tests.support.backend import OPERATOR_1, SUPERVISOR
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket

pytestmark = [pytest.mark.browser]

SIZES = {"desk-1366x768": (1366, 768), "phone-360x740": (360, 740)}
ANONYMOUS = ("", "")
# (who, page): every page a person can reach, seen by a role that works on it.
PAGES: tuple[tuple[tuple[str, str], str], ...] = (
    (ANONYMOUS, "/login"),
    ((OPERATOR_1.username, OPERATOR_1.password), "/console"),
    ((OPERATOR_1.username, OPERATOR_1.password), "/account/password"),
    (("widths.liaison", PASSWORD), "/inbox"),
    (("widths.field", PASSWORD), "/inbox"),
    ((SUPERVISOR.username, SUPERVISOR.password), "/wallboard"),
    ((SUPERVISOR.username, SUPERVISOR.password), "/verifications"),
    (("widths.mayor", PASSWORD), "/scorecard"),
    (("widths.mayor", PASSWORD), "/inspection/analytics"),
    (("widths.admin", PASSWORD), "/admin"),
    (("widths.desk", PASSWORD), "/desk"),
    (("widths.liaison", PASSWORD), "/inbox/information-requests"),
    (("widths.inspector", PASSWORD), "/inspection"),
    (("widths.head", PASSWORD), "/inspection/sla"),
)

# What sticks out of the viewport (the title bar and headings; the innermost elements beyond the edge), so a failure
# names the element instead of only a width.
MEASURE = """() => {
  const width = window.innerWidth;
  const outside = [];
  for (const el of document.querySelectorAll('.topbar, .topbar > *, h1, h2')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5 || el.scrollWidth > el.clientWidth + 1) {
      outside.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.textContent.trim().slice(0, 40)}`
                   + ` [${Math.round(box.left)}, ${Math.round(box.right)}]`);
    }
  }
  const beyond = el => { const box = el.getBoundingClientRect(); return box.left < -0.5 || box.right > width + 0.5; };
  const culprits = [...document.querySelectorAll('main *')]
    .filter(el => beyond(el) && ![...el.children].some(beyond))
    .slice(0, 5)
    .map(el => `${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${el.textContent.trim().slice(0, 30)}`);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, outside, culprits};
}"""


def people_and_work(engine: sa.Engine) -> None:
    """The staff of every page and a few tickets, so that the inbox's table has rows to be wide with."""
    operator = add_staff(engine, "widths.operator", Role.OPERATOR)
    add_staff(engine, "widths.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "widths.field", Role.FIELD_SUPERVISOR)
    add_staff(engine, "widths.mayor", Role.VIEWER)
    add_staff(engine, "widths.admin", Role.ADMIN)
    add_staff(engine, "widths.desk", Role.DESK)
    add_staff(engine, "widths.inspector", Role.INSPECTOR, unit="مدیریت بازرسی")
    add_staff(engine, "widths.head", Role.HEAD_OF_INSPECTION, unit="مدیریت بازرسی")
    referred_ticket(engine, by=operator, unit=WASTE, priority=TicketPriority.URGENT,
                    description="سطل زبالهٔ بزرگ سر کوچه از دیروز پر است و بوی آن تا خانه‌های اطراف رسیده است",
                    address="بلوار نوروزیان، خیابان شهید بهشتی، کوچهٔ شانزدهم، پلاک ۱۲۸")
    referred_ticket(engine, by=operator, unit=WASTE)


async def measured(page: Page) -> dict[str, Any]:
    await page.wait_for_load_state("networkidle")
    await page.evaluate("document.fonts.ready.then(() => true)")
    result: dict[str, Any] = await page.evaluate(MEASURE)
    return result


# A page's width is its templates' and styles', whichever database fills it: one kind is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
async def test_given_each_page_and_its_role_when_seen_at_desk_and_phone_sizes_then_nothing_scrolls_sideways(
    engine: sa.Engine, web_backend: WebBackend, chromium: Browser, size: tuple[int, int],
) -> None:
    people_and_work(engine)
    width, height = size
    contexts: dict[tuple[str, str], BrowserContext] = {}
    failures: list[str] = []
    try:
        for who, path in PAGES:
            if who not in contexts:
                contexts[who] = await chromium.new_context(viewport={"width": width, "height": height},
                                                           locale="fa-IR", timezone_id="Asia/Tehran")
                if who != ANONYMOUS:
                    await log_in(await contexts[who].new_page(), web_backend.url, *who)
            page = await contexts[who].new_page()
            await page.goto(web_backend.url + path)
            await expect(page).to_have_url(web_backend.url + path)
            result = await measured(page)
            if result["scrollWidth"] > width or result["outside"]:
                failures.append(f"{path} as {who[0] or 'nobody'}: {result}")
            await page.close()
    finally:
        for context in contexts.values():
            await context.close()
    assert failures == [], "\n".join(failures)
