"""A working day in two browsers: the operator (keyboard shortcuts, pop with history, duplicate warning, ticket,
hang-up, wrap-up) and the supervisor's wallboard (states live, pause reason, KPIs moving, ChanSpy), with a real
sipp citizen calling real Asterisk; and a transfer that reaches the supervisor's phone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import Session, col, select

from callcenter.tickets.store import to_public
from db.models import AgentStateChange, Call, Ticket
from tests.browser.conftest import VIEWPORT, log_in
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, SUPERVISOR, RunningBackend, earlier_ticket
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.browser, pytest.mark.asterisk]

CITIZEN = "09125550137"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "wallboard.png"
POP_TIMEOUT_MS = 40_000
OPERATOR_ROW = f'#agents tr[data-extension="{OPERATOR_1.extension}"][data-queue="line137"]'


@pytest.fixture
async def wallboard_page(chromium: Browser) -> AsyncIterator[Page]:
    """The supervisor's own browser (its own cookies), beside the operator's."""
    context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR", timezone_id="Asia/Tehran")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == [], f"uncaught JavaScript errors in the wallboard: {errors}"


async def operator_ready_by_keyboard(page: Page, backend: RunningBackend) -> None:
    await log_in(page, backend.url, OPERATOR_1.username, OPERATOR_1.password, landing="/console")
    await expect(page.locator("#connection")).to_have_text("متصل")
    await page.keyboard.press("Alt+KeyR")  # join the queue
    await expect(page.locator("#queue-state")).to_have_attribute("data-state", "ready", timeout=15_000)


async def record_queue_states(page: Page) -> None:
    """Keep every state the console shows (wrap-up lasts a second in tests; a poll could miss it)."""
    await page.evaluate("""() => {
      window.shownStates = [];
      const el = document.getElementById("queue-state");
      new MutationObserver(() => window.shownStates.push(el.dataset.state))
        .observe(el, { attributes: true, attributeFilter: ["data-state"] });
    }""")


def call_of(backend: RunningBackend, caller: str) -> Call:
    with Session(backend.engine) as session:
        call = session.exec(select(Call).where(Call.caller_number == caller)).one()
        session.expunge(call)
        return call


async def test_given_operator_and_wallboard_when_a_citizen_calls_then_both_follow_the_call_to_wrap_up(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver,
    console_page: Page, wallboard_page: Page, database_url: str,
) -> None:
    operator, wallboard = console_page, wallboard_page
    earlier = earlier_ticket(backend.engine, caller=CITIZEN, description="سطل زباله سر کوچه پر است")
    await log_in(wallboard, backend.url, SUPERVISOR.username, SUPERVISOR.password, landing="/console")
    await wallboard.goto(backend.url + "/wallboard")
    await expect(wallboard.locator("#connection")).to_have_text("متصل")
    await expect(wallboard.locator("#kpi-counts")).to_have_text("۰ / ۰")

    await operator_ready_by_keyboard(operator, backend)
    row = wallboard.locator(OPERATOR_ROW)
    await expect(row).to_have_attribute("data-state", "ready")

    await operator.locator("#pause-reason").select_option("training")
    await operator.keyboard.press("Alt+KeyP")
    await expect(row).to_have_attribute("data-state", "paused")
    await expect(row.locator(".state")).to_have_text("در مکث (آموزش)")
    # Alt+R resumes what the operator's own console shows as paused (else it joins): wait for it, as a person would.
    await expect(operator.locator("#queue-state")).to_have_attribute("data-state", "paused")
    await operator.keyboard.press("Alt+KeyR")  # resume
    await expect(row).to_have_attribute("data-state", "ready")

    citizen: asyncio.Task[SippResult] = asyncio.create_task(  # 0: a returning caller asks for an operator
        sipp.citizen_calls(caller=CITIZEN, digits="0", hold_ms=90_000, local_port=CITIZENS_PORT))
    try:
        await expect(operator.locator("#screen-pop")).to_be_visible(timeout=POP_TIMEOUT_MS)
        await expect(operator.locator("#history tbody tr")).to_have_count(1)
        await expect(operator.locator("#duplicate-warning")).to_be_visible()
        await expect(operator.locator(f'#duplicates li[data-code="{earlier.tracking_code}"]')).to_be_visible()

        await expect(row).to_have_attribute("data-state", "talking")
        await expect(wallboard.locator("#kpi-counts")).to_have_text("۱ / ۰")  # answered today, from the database
        await expect(wallboard.locator("#kpi-service-level")).to_have_text("۱۰۰٪")

        await row.locator('button[data-mode="listen"]').click()  # rings the supervisor's phone, then ChanSpy
        await expect(wallboard.locator("#supervise-note")).to_be_visible()
        await ami_observer.wait_for(lambda e: e.get("Event") == "ChanSpyStart"
                                    and e.get("SpyeeChannel", "").startswith(f"PJSIP/{OPERATOR_1.extension}-"))
        if database_url.startswith("sqlite"):
            await wallboard.evaluate("document.fonts.ready.then(() => true)")
            await wallboard.wait_for_timeout(1500)  # a tick of time in state
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await wallboard.screenshot(path=str(SCREENSHOT))

        await operator.locator("#district").select_option(label="منطقه دو")
        await operator.locator("#priority").select_option("urgent")
        await operator.locator("#description").fill("سطل زباله دوباره پر شده است")
        await operator.keyboard.press("Control+Enter")
        await expect(operator.locator("#tracking-code")).to_be_visible()
        code = await operator.locator("#tracking-code").get_attribute("data-code")

        await record_queue_states(operator)
        await operator.keyboard.press("Alt+KeyX")  # hang up
        await expect(operator.locator("#queue-state")).to_have_attribute("data-state", "ready", timeout=15_000)
    finally:
        result = await citizen
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]

    assert "wrap_up" in await operator.evaluate("window.shownStates")
    await expect(row).to_have_attribute("data-state", "ready")
    await expect(wallboard.locator("#recent tr[data-call] audio")).to_have_count(1)  # the conversation, to play
    assert await wallboard.evaluate("Chart.getChart('hourly-chart').data.datasets[0].data.reduce((a, b) => a + b)") == 1
    with Session(backend.engine) as session:
        states = session.exec(select(AgentStateChange.state).where(
            AgentStateChange.extension == OPERATOR_1.extension).order_by(col(AgentStateChange.id))).all()
    assert [s.value for s in states][-4:] == ["ringing", "talking", "wrap_up", "ready"]
    assert call_of(backend, CITIZEN).ended_at is not None
    with Session(backend.engine) as session:
        ticket = to_public(session, session.exec(select(Ticket).where(Ticket.tracking_code == code)).one())
    call_id = call_of(backend, CITIZEN).id
    assert (ticket.district_name, ticket.priority, ticket.call_id) == ("منطقه دو", "urgent", call_id)


async def test_given_operator_on_a_call_when_transferring_to_the_supervisor_then_the_supervisor_phone_answers(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver, console_page: Page,
) -> None:
    operator = console_page
    await operator_ready_by_keyboard(operator, backend)
    citizen: asyncio.Task[SippResult] = asyncio.create_task(
        sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=14_000, local_port=CITIZENS_PORT))
    try:
        await expect(operator.locator("#screen-pop")).to_be_visible(timeout=POP_TIMEOUT_MS)
        await operator.keyboard.press("Alt+KeyH")  # hold: Asterisk mutes the citizen's channel both ways
        await expect(operator.locator("#hold-badge")).to_be_visible()
        await expect(operator.locator("#call-error")).to_be_hidden()
        await operator.keyboard.press("Alt+KeyH")  # and back
        await expect(operator.locator("#hold-badge")).to_be_hidden()
        await operator.locator("#transfer-target").select_option(SUPERVISOR.extension)
        await operator.keyboard.press("Alt+KeyT")
        await expect(operator.locator("#call-idle")).to_have_text("تماس منتقل شد؛ ثبت درخواست را کامل کنید.")
        await ami_observer.wait_for(lambda e: e.get("Event") == "DialEnd" and e.get("DialStatus") == "ANSWER"
                                    and e.get("DestChannel", "").startswith(f"PJSIP/{SUPERVISOR.extension}-")
                                    and e.get("CallerIDNum") == CITIZEN)
        await expect(operator.locator("#queue-state")).not_to_have_attribute("data-state", "talking")
    finally:
        result = await citizen
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
    assert call_of(backend, CITIZEN).transferred_to == SUPERVISOR.extension
