"""The operator console in a real browser: log in, join the queue, a sipp citizen calls 137 and presses 1,
the screen pop shows the caller in Persian digits, the operator files a ticket and reads its tracking code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlmodel import Session, select

from callcenter.tickets.tracking_code import is_valid
from db.models import Call, Category, Ticket, Unit
from tests.browser.conftest import log_in
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.browser, pytest.mark.asterisk]

CITIZEN = "09127654321"
CITIZEN_IN_PERSIAN = "۰۹۱۲۷۶۵۴۳۲۱"
CATEGORY = "روشنایی معابر و پارک‌ها"
CATEGORY_LABEL = f"{CATEGORY} (۱۳۷)"
ADDRESS = "خیابان پیغمبریه، کوچه ۱۲"
ADDRESS_STORED = "خیابان پیغمبریه، کوچه 12"
DESCRIPTION = "چراغ‌های کوچه ۱۲ از دیشب خاموش است"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "console.png"
POP_TIMEOUT_MS = 40_000


async def test_given_operator_logged_in_when_citizen_calls_then_browser_shows_pop_and_files_ticket(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, console_page: Page, database_url: str
) -> None:
    page = console_page
    with Session(backend.engine) as session:
        category = session.exec(select(Category).where(Category.name == CATEGORY)).one()
        default_unit = session.get(Unit, category.default_unit_id)
        assert default_unit is not None and default_unit.id is not None
        category_id, default_unit_id, default_unit_name = category.id, str(default_unit.id), default_unit.name

    await log_in(page, backend.url, OPERATOR_1.username, OPERATOR_1.password)
    await expect(page).to_have_url(backend.url + "/console")
    await expect(page.locator("#connection")).to_have_text("متصل")
    await page.locator("#join-queue").click()
    queue_state = page.locator("#queue-state")
    await expect(queue_state).to_have_text("آماده در صف", timeout=15_000)
    await expect(queue_state).to_have_attribute("data-state", "ready")

    citizen: asyncio.Task[SippResult] = asyncio.create_task(
        sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=15000, local_port=CITIZENS_PORT)
    )
    try:
        await expect(page.locator("#screen-pop")).to_be_visible(timeout=POP_TIMEOUT_MS)
        await expect(page.locator("#caller-number")).to_have_text(CITIZEN_IN_PERSIAN)
        await expect(page.locator("#no-history")).to_be_visible()

        unit = page.locator("#unit")
        await expect(unit).not_to_have_value(default_unit_id)  # the first category belongs to another unit
        await page.locator("#category").select_option(label=CATEGORY_LABEL)
        await expect(unit).to_have_value(default_unit_id)
        await expect(unit.locator("option:checked")).to_have_text(default_unit_name)
        await page.locator("#address").fill(ADDRESS)
        await page.locator("#description").fill(DESCRIPTION)
        await page.locator("#file-ticket").click()

        tracking = page.locator("#tracking-code")
        await expect(tracking).to_be_visible()
        await expect(page.locator("#ticket-error")).to_be_hidden()
        code = await tracking.get_attribute("data-code")
        assert code is not None and is_valid(code), code
        shown = await tracking.inner_text()
        assert shown.replace("-", "") == code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

        if database_url.startswith("sqlite"):  # one screenshot per run, not one per database kind
            await page.evaluate("document.fonts.ready.then(() => true)")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT))
    finally:
        result = await citizen  # always: a leftover sipp would hold CITIZENS_PORT for the next test

    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
    with Session(backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        assert ticket.call_id is not None
        call = session.get(Call, ticket.call_id)
        assert call is not None and call.caller_number == CITIZEN
        assert call.operator_extension == OPERATOR_1.extension
        assert ticket.category_id == category_id and str(ticket.unit_id) == default_unit_id
        assert ticket.address == ADDRESS_STORED  # typed with Persian digits, stored with ASCII ones


async def test_given_wrong_password_when_logging_in_then_persian_error_and_no_console(
    backend: RunningBackend, console_page: Page
) -> None:
    page = console_page
    await log_in(page, backend.url, OPERATOR_1.username, "not-the-password")

    await expect(page.get_by_role("alert")).to_have_text("نام کاربری یا گذرواژه نادرست است.")
    await expect(page).to_have_url(backend.url + "/login")
    await page.goto(backend.url + "/console")
    await expect(page).to_have_url(backend.url + "/login")  # no session: sent back to the login form


async def test_given_the_1888_queue_chosen_when_the_operator_joins_and_leaves_then_asterisk_follows_in_1888(
    backend: RunningBackend, operator_phones: object, console_page: Page,
) -> None:
    """The console works either line's queue (its lines come from the server), not only 137's."""
    page = console_page
    await log_in(page, backend.url, OPERATOR_1.username, OPERATOR_1.password)
    await expect(page.locator("#connection")).to_have_text("متصل")
    await expect(page.locator("#queue option")).to_have_text(["۱۳۷", "۱۸۸۸"])
    await page.locator("#queue").select_option("line1888")
    queue_state = page.locator("#queue-state")
    await page.locator("#join-queue").click()
    await expect(queue_state).to_have_attribute("data-state", "ready", timeout=15_000)
    me = await page.evaluate("fetch('/api/me').then((r) => r.json())")
    assert {q["queue"]: q["state"] for q in me["queues"]}.get("line1888") == "ready"

    await page.locator("#leave-queue").click()
    await expect(queue_state).to_have_attribute("data-state", "logged_out", timeout=15_000)
