"""A named complainant's identity in a real browser: an inspector opens it for a stated purpose (the page is not
cached), the head of inspection opens the audit log and sees that view; an inspector is refused the log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect
from sqlmodel import Session, select

from callcenter.complaints.identity_views import PURPOSES
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.persian import persian_digits
from db.models import IdentityAccess, Role
from tests.browser.conftest import WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.complaint_identity import INSPECTION, MOBILE, NAME, a_complaint
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

pytestmark = [pytest.mark.browser]


async def test_given_a_named_complaint_when_an_inspector_reveals_it_then_the_head_sees_that_view_in_the_audit_log(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    page, url = console_page, web_backend.url
    add_staff(engine, "b.inspector", Role.INSPECTOR, unit=INSPECTION)
    add_staff(engine, "b.head", Role.HEAD_OF_INSPECTION, unit=INSPECTION)
    complaint = a_complaint(engine, web_backend.services.settings, target=WASTE)
    shown_code = persian_digits(format_for_reading(complaint.tracking_code))

    await log_in(page, url, "b.inspector", PASSWORD)
    await page.goto(f"{url}/inspection/complaints/{complaint.id}/identity")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(shown_code)
    await expect(page.get_by_text(NAME)).to_have_count(0)
    await assert_accessible(page)
    await page.get_by_label("هدف از دیدن هویت").select_option(label=PURPOSES["meeting"])
    async with page.expect_response(lambda response: response.request.method == "POST") as posted:
        await page.get_by_role("button", name="نمایش هویت شاکی").click()
    assert (await posted.value).headers["cache-control"] == "no-store"
    await expect(page.locator("#complainant-name")).to_have_text(NAME)
    await expect(page.locator("#complainant-mobile")).to_have_text(persian_digits(MOBILE))
    await assert_accessible(page)
    with Session(engine) as session:
        assert [row.purpose for row in session.exec(select(IdentityAccess)).all()] == [PURPOSES["meeting"]]

    refused = await page.goto(f"{url}/inspection/audit")
    assert refused is not None and refused.status == 403

    await log_in(page, url, "b.head", PASSWORD)
    await page.goto(f"{url}/inspection/audit")
    rows = page.locator("#identity-audit tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("b.inspector")
    await expect(rows.first).to_contain_text(shown_code)
    await expect(rows.first).to_contain_text(PURPOSES["meeting"])
    await expect(page.get_by_text(NAME)).to_have_count(0)
    await assert_accessible(page)
    await page.get_by_label("کد پیگیری شکایت").fill("8000000000")
    await page.get_by_role("button", name="پالایش").click()
    await expect(page.locator("#audit-error")).to_be_visible()
    await page.get_by_label("کد پیگیری شکایت").fill(persian_digits(complaint.tracking_code))
    await page.get_by_role("button", name="پالایش").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("b.inspector")
