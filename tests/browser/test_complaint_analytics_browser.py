"""An inspector reads the complaint analytics in the browser at 1366×768 (the period chosen in the form, the heatmap,
the charts drawn), tags a complaint's root causes, and sees the new tag counted."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlmodel import select

from db.engine import unit_of_work
from db.models import Complaint, Role
from tests.browser.conftest import WebBackend, log_in
from tests.support import complaint_analytics as fixture
from tests.support.axe import assert_accessible
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

pytestmark = [pytest.mark.browser]


async def test_given_the_fixture_when_an_inspector_picks_the_period_then_figures_and_charts_and_a_new_root_cause(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, url = console_page, web_backend.engine, web_backend.url
    fixture.build(engine)
    add_staff(engine, "b-inspector", Role.INSPECTOR, unit=fixture.INSPECTION)
    with unit_of_work(engine) as session:
        first = session.exec(select(Complaint).where(Complaint.tracking_code == "8000000001")).one()
    await log_in(page, url, "b-inspector", PASSWORD)

    await page.goto(url + "/inspection/analytics")
    form = page.locator("#period-form")
    await form.locator("fieldset").nth(0).get_by_label("سال").fill("1405")
    await form.locator("fieldset").nth(0).get_by_label("ماه").select_option(label="شهریور")
    await form.locator("fieldset").nth(1).get_by_label("سال").fill("1405")
    await form.locator("fieldset").nth(1).get_by_label("ماه").select_option(label="آبان")
    await page.get_by_role("button", name="نمایش").click()

    await expect(page.locator("h1")).to_contain_text("شهریور ۱۴۰۵ تا آبان ۱۴۰۵")
    await expect(page.locator("#total strong")).to_have_text("۲۶")
    waste_row = page.locator("#heatmap tbody tr").nth(0)
    await expect(waste_row.locator("th")).to_have_text(WASTE)
    await expect(waste_row.locator('td[data-ground="delay"]')).to_have_text("۵")
    await expect(waste_row.locator('td[data-ground="delay"]')).to_have_class("num heat-5")
    await page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart') && Chart.getChart('delay-chart')")
    assert await page.evaluate("Chart.getChart('trend-chart').data.datasets.length") == 9  # 8 grounds and the total
    assert await page.evaluate("Chart.getChart('trend-chart').data.datasets.at(-1).data") == [8, 9, 9]
    assert await page.evaluate("Chart.getChart('delay-chart').data.datasets[1].data") == [67, 50, None]
    await expect(page.get_by_role("link", name="خوشه‌های شکایت‌های مشابه")).to_have_attribute(
        "href", "/inspection/analytics/clusters")
    await assert_accessible(page)

    await page.goto(f"{url}/inspection/complaints/{first.id}/root-causes")
    await expect(page.get_by_label("کمبود نیرو")).to_be_checked()
    await page.get_by_label("نظارت ضعیف").check()
    await page.get_by_label("ریشهٔ تازه").fill("کمبود بودجه")
    await assert_accessible(page)
    await page.get_by_role("button", name="ثبت").click()
    await expect(page.locator("#saved")).to_have_text("ریشه‌ها ثبت شد.")
    await expect(page.get_by_label("کمبود بودجه")).to_be_checked()
    await expect(page.get_by_label("نظارت ضعیف")).to_be_checked()

    await page.goto(url + "/inspection/analytics?from_year=1405&from_month=6&to_year=1405&to_month=8")
    counts = page.locator("#root-causes tbody tr")
    await expect(counts.filter(has_text="کمبود بودجه").locator("td").nth(1)).to_have_text("۱")
    await expect(counts.filter(has_text="نظارت ضعیف").locator("td").nth(1)).to_have_text("۴")
