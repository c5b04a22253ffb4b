"""An inspector reads the similar-complaint clusters in the browser: the emerging one first, a code opens its case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect
from sqlmodel import select

from callcenter.platform.persian import persian_digits
from db.engine import unit_of_work
from db.models import Role, Unit
from tests.browser.conftest import WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.complaint_clusters import add_complaint, group_texts
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

pytestmark = [pytest.mark.browser]


async def test_given_a_burst_of_complaints_when_an_inspector_opens_the_clusters_then_it_leads_marked_emerging(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine = console_page, web_backend.engine
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        waste = session.exec(select(Unit.id).where(Unit.name == WASTE)).one()
        burst = [add_complaint(session, text, now - timedelta(days=1 + index), unit_id=waste)
                 for index, text in enumerate(group_texts("tree_felling")[:5])]
        for index, text in enumerate(group_texts("fee_errors")[:10]):
            add_complaint(session, text, now - timedelta(days=5 + 9 * index), unit_id=waste)
        session.commit()
        first_code, first_id = burst[0].tracking_code, burst[0].id
    add_staff(engine, "clusters-browser", Role.INSPECTOR, unit="مدیریت بازرسی")

    await log_in(page, web_backend.url, "clusters-browser", PASSWORD)
    await page.goto(web_backend.url + "/inspection/analytics/clusters")

    leading = page.locator("section.cluster").first
    await expect(leading).to_have_class("card wide cluster emerging")
    await expect(leading.get_by_role("heading")).to_contain_text("رو به افزایش")
    await expect(leading.get_by_role("heading")).to_contain_text("درخت")
    await expect(page.locator("section.cluster")).to_have_count(2)
    await assert_accessible(page)
    link = leading.get_by_role("link", name=persian_digits(first_code))
    await expect(link).to_have_attribute("href", f"/inspection/complaints/{first_id}")
