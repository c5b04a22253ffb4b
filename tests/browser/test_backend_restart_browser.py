"""The backend restarts while an operator talks to a citizen: within seconds the operator's console and the
supervisor's wallboard show the truth again (still talking, time in state kept), then follow the call's end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import Session, select

from db.models import Call, CallOutcome
from tests.browser.conftest import VIEWPORT, log_in
from tests.support.backend import (
    CITIZENS_PORT,
    OPERATOR_1,
    SUPERVISOR,
    free_port,
    running_backend,
)
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.browser, pytest.mark.asterisk]

CITIZEN = "09124440137"
OPERATOR_ROW = f'#agents tr[data-extension="{OPERATOR_1.extension}"][data-queue="line137"]'
BACK_WITHIN_MS = 10_000  # "within seconds": the consoles retry every second


def seconds_shown(text: str) -> int:
    """``۱:۰۵`` → 65."""
    digits = text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    total = 0
    for part in digits.split(":"):
        total = total * 60 + int(part)
    return total


async def test_given_a_call_in_progress_when_the_backend_restarts_then_console_and_wallboard_recover(
    asterisk: AsteriskUnderTest, database_url: str, sipp: Sipp, operator_phones: object,
    console_page: Page, chromium: Browser, tmp_path: Path,
) -> None:
    settings = asterisk.settings.model_copy(update={"database_url": database_url, "web_port": free_port()})
    supervisor_context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR", timezone_id="Asia/Tehran")
    wallboard = await supervisor_context.new_page()
    operator = console_page
    citizen: asyncio.Task[SippResult] | None = None
    try:
        async with running_backend(settings, leave_queues=False) as first:
            await log_in(operator, first.url, OPERATOR_1.username, OPERATOR_1.password, landing="/console")
            await log_in(wallboard, first.url, SUPERVISOR.username, SUPERVISOR.password, landing="/console")
            await wallboard.goto(first.url + "/wallboard")
            await operator.locator("#join-queue").click()
            await expect(operator.locator("#queue-state")).to_have_attribute("data-state", "ready", timeout=15_000)
            citizen = asyncio.create_task(
                sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=30_000, local_port=CITIZENS_PORT))
            await expect(operator.locator("#screen-pop")).to_be_visible(timeout=40_000)
            await expect(wallboard.locator(OPERATOR_ROW)).to_have_attribute("data-state", "talking")
            await wallboard.wait_for_timeout(3000)
        # The backend is gone (port closed); the call goes on inside Asterisk.
        await expect(wallboard.locator("#connection")).to_have_text("قطع")
        await expect(operator.locator("#connection")).to_have_text("قطع")

        async with running_backend(settings) as second:
            await expect(operator.locator("#connection")).to_have_text("متصل", timeout=BACK_WITHIN_MS)
            await expect(wallboard.locator("#connection")).to_have_text("متصل", timeout=BACK_WITHIN_MS)
            row = wallboard.locator(OPERATOR_ROW)
            await expect(row).to_have_attribute("data-state", "talking", timeout=BACK_WITHIN_MS)
            await expect(operator.locator("#queue-state")).to_have_attribute("data-state", "talking")
            assert seconds_shown(await row.locator(".since").inner_text()) >= 3  # time in state kept
            await expect(wallboard.locator("#kpi-counts")).to_have_text("۱ / ۰")

            result = await citizen  # the citizen hangs up after 30 s
            citizen = None
            assert result.failed == 0 and result.successful == 1, result.output[-3000:]
            await expect(row).to_have_attribute("data-state", "ready", timeout=BACK_WITHIN_MS)
            await expect(operator.locator("#queue-state")).to_have_attribute("data-state", "ready")
            await expect(operator.locator("#call-idle")).to_have_text("تماس پایان یافت؛ ثبت درخواست را کامل کنید.")
            with Session(second.engine) as session:
                call = session.exec(select(Call).where(Call.caller_number == CITIZEN)).one()
            assert call.outcome == CallOutcome.ANSWERED and call.ended_at is not None
    finally:
        if citizen is not None:
            await citizen
        await supervisor_context.close()
