"""The mayor's office reads the units' scorecard in the browser: a unit that did its work on time ranks first, and
the six months' trend draws a line per unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from callcenter.platform.calendar import jalali_month_window
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, TicketAction, User
from tests.browser.conftest import WebBackend, log_in
from tests.support.ticket_flow import (
    GREENERY,
    PASSWORD,
    WASTE,
    Filed,
    add_staff,
    referred_long_ago,
    referred_ticket,
)

pytestmark = [pytest.mark.browser]
MEHR = 7
TIR, MORDAD, SHAHRIVAR = 4, 5, 6
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "scorecard.png"
TREND_LABELS = ["اردیبهشت ۱۴۰۵", "خرداد ۱۴۰۵", "تیر ۱۴۰۵", "مرداد ۱۴۰۵", "شهریور ۱۴۰۵", "مهر ۱۴۰۵"]


async def test_given_two_units_when_the_mayors_office_opens_the_scorecard_then_the_punctual_one_ranks_first(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, backend = console_page, web_backend.engine, web_backend
    operator = add_staff(engine, "sc-operator", Role.OPERATOR)
    waste = add_staff(engine, "sc-waste", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "sc-mayor", Role.VIEWER)
    punctual = referred_ticket(engine, by=operator, unit=WASTE)
    late = referred_ticket(engine, by=operator, unit=GREENERY, description="درخت شکسته در پارک")
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=punctual.id, action=TicketAction.ACCEPT, actor=waste)
        apply_action(session, ticket_id=punctual.id, action=TicketAction.REPORT_DONE, actor=waste,
                     note="سطل‌ها تخلیه شد")
    # Both histories move to the middle of Mehr 1405 (the month the page is asked for): the waste unit reported
    # within minutes; the greenery ticket is still open weeks past any deadline.
    mid_mehr = jalali_month_window(1405, MEHR)[0] + timedelta(days=10)
    for ticket in (punctual, late):
        referred_long_ago(engine, ticket, by=datetime.now(UTC) - mid_mehr)

    await log_in(page, backend.url, "sc-mayor", PASSWORD, landing="/wallboard")
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



def moved_to(engine: sa.Engine, ticket: Filed, month: int) -> None:
    """The ticket's whole history moved to the 10th day of a month of 1405."""
    referred_long_ago(engine, ticket, by=datetime.now(UTC) - (jalali_month_window(1405, month)[0] + timedelta(days=10)))


def reported_done(engine: sa.Engine, ticket: Filed, liaison: User) -> None:
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REPORT_DONE, actor=liaison, note="انجام شد")


async def test_given_four_months_of_work_when_the_mayors_office_reads_the_trend_then_a_line_per_unit_over_six_months(
    web_backend: WebBackend, console_page: Page, database_url: str,
) -> None:
    page, engine, backend = console_page, web_backend.engine, web_backend
    operator = add_staff(engine, "tr-operator", Role.OPERATOR)
    liaisons = {unit: add_staff(engine, f"tr-{index}", Role.UNIT_LIAISON, unit=unit)
                for index, unit in enumerate((WASTE, GREENERY))}
    add_staff(engine, "tr-mayor", Role.VIEWER)
    # (unit, month, reported done within minutes, else left open past its 24-hour deadline)
    for unit, month, done in ((WASTE, TIR, True), (WASTE, MORDAD, True), (WASTE, MORDAD, False), (WASTE, MEHR, True),
                              (GREENERY, MORDAD, True), (GREENERY, SHAHRIVAR, False), (GREENERY, MEHR, False)):
        ticket = referred_ticket(engine, by=operator, unit=unit)
        if done:
            reported_done(engine, ticket, liaisons[unit])
        moved_to(engine, ticket, month)

    await log_in(page, backend.url, "tr-mayor", PASSWORD, landing="/wallboard")
    await page.goto(backend.url + "/scorecard")
    await page.locator("#year").fill("1405")
    await page.locator("#month").select_option(str(MEHR))
    await page.get_by_role("button", name="نمایش").click()

    # Six months ending with Mehr, named in Persian with Persian digits, the oldest on the right.
    await expect(page.locator("#trend-period")).to_have_text("اردیبهشت ۱۴۰۵ تا مهر ۱۴۰۵")
    await page.wait_for_function("Chart.getChart('trend-chart')?.data.labels.at(-1) === 'مهر ۱۴۰۵'")
    trend = await page.evaluate("""() => {
        const chart = Chart.getChart('trend-chart');
        return { type: chart.config.type, labels: chart.data.labels, reversed: chart.options.scales.x.reverse,
                 lines: chart.data.datasets.map((d) => [d.label, d.data]) };
    }""")
    assert trend["type"] == "line" and trend["reversed"] is True
    assert trend["labels"] == TREND_LABELS
    # Scores in percent, a gap where the unit received nothing. Waste: Tir on time (100); Mordad one on time, one
    # late (on time 1/2, reopen 0/1: (50 + 100) / 2 = 75); nothing in Shahrivar; Mehr on time. Greenery: Mordad on
    # time; Shahrivar and Mehr left open past the deadline (on time 0/1, nothing reported: 0).
    assert trend["lines"] == [[WASTE, [None, None, 100, 75, None, 100]], [GREENERY, [None, None, None, 100, 0, 0]]]

    await page.locator("#trend-measure").select_option("on_time_rate")
    on_time = await page.evaluate("Chart.getChart('trend-chart').data.datasets.map((d) => d.data)")
    assert on_time == [[None, None, 100, 50, None, 100], [None, None, None, 100, 0, 0]]
    await page.locator("#trend-measure").select_option("score")

    if database_url.startswith("sqlite"):  # one screenshot per run, not one per database kind
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=str(SCREENSHOT))


# Every label Chart.js drew on the chart's axes, its legend and the first bar's tooltip.
CHART_TEXT = """id => {
  const chart = Chart.getChart(id);
  chart.tooltip.setActiveElements([{ datasetIndex: 0, index: 0 }], { x: 0, y: 0 });
  chart.update("none");
  return {
    ticks: Object.values(chart.scales).flatMap((scale) => scale.ticks.map((tick) => String(tick.label))),
    legend: chart.legend.legendItems.map((item) => item.text),
    tooltip: chart.tooltip.body.flatMap((part) => part.lines),
  };
}"""


async def test_given_the_charts_then_their_axes_legends_and_tooltips_are_in_persian_digits(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page, engine, backend = console_page, web_backend.engine, web_backend
    operator = add_staff(engine, "digits-operator", Role.OPERATOR)
    add_staff(engine, "digits-mayor", Role.VIEWER)
    referred_ticket(engine, by=operator, unit=WASTE)  # this month: one unit, one bar

    await log_in(page, backend.url, "digits-mayor", PASSWORD, landing="/wallboard")
    await page.wait_for_function("() => typeof Chart !== 'undefined' && Chart.getChart('hourly-chart') !== undefined")
    hourly = await page.evaluate(CHART_TEXT, "hourly-chart")
    await page.goto(backend.url + "/scorecard")
    await expect(page.locator("#units tbody tr")).to_have_count(1)
    await page.wait_for_function("() => Chart.getChart('score-chart') !== undefined")
    score = await page.evaluate(CHART_TEXT, "score-chart")

    for drawn in (hourly, score):
        text = " ".join(drawn["ticks"] + drawn["legend"] + drawn["tooltip"])
        assert any(digit in text for digit in "۰۱۲۳۴۵۶۷۸۹"), drawn
        assert not any(digit in text for digit in "0123456789"), drawn
    assert "۱۰۰" in score["ticks"] and "۰" in score["ticks"]  # the score axis, 0 to 100
    assert score["tooltip"] and score["tooltip"][0].startswith("امتیاز: ")
