"""The whole loop of a 137 ticket in browsers on real Asterisk: referred, reported done by the unit's liaison,
verified with the citizen by the supervisor's click-to-call (supervisor's and citizen's phones are two sipp UAS),
"not resolved" reopens it, the unit disputes, the field supervisor rules and it is closed; and the same ticket
path verified by the automatic call, the citizen answering with a key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import Session, select

from db.models import Role, TicketAction, TicketStatus, User
from tests.browser.conftest import VIEWPORT, log_in
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZEN_PHONE_PORT, OPERATOR_1, SUPERVISOR, RunningBackend
from tests.support.dtmf_pcap import Keys, Silence
from tests.support.sipp import Sipp
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_ticket, status_of, steps_of

# One database kind: the lifecycle and verification rules run on both in the unit and HTTP tests.
pytestmark = [pytest.mark.browser, pytest.mark.asterisk,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
A, S = TicketAction, TicketStatus
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "verifications.png"


@pytest.fixture
async def pages(chromium: Browser) -> AsyncIterator[dict[str, Page]]:
    """Each person in their own browser context (own cookies): liaison, supervisor, field supervisor."""
    contexts, opened, errors = [], {}, []
    for who in ("liaison", "supervisor", "field"):
        context = await chromium.new_context(viewport=VIEWPORT, locale="fa-IR", timezone_id="Asia/Tehran")
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        contexts.append(context)
        opened[who] = page
    yield opened
    for context in contexts:
        await context.close()
    assert errors == [], f"uncaught JavaScript errors: {errors}"


def referred(backend: RunningBackend) -> Filed:
    add_staff(backend.engine, "loop.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(backend.engine, "loop.field", Role.FIELD_SUPERVISOR)
    with Session(backend.engine) as session:
        operator = session.exec(select(User).where(User.username == OPERATOR_1.username)).one()
        session.expunge(operator)
    return referred_ticket(backend.engine, by=operator, unit=WASTE, description="سطل زباله سر کوچه پر است")


async def liaison_reports_done(page: Page, backend: RunningBackend, ticket: Filed) -> None:
    await log_in(page, backend.url, "loop.liaison", PASSWORD, landing="/inbox")
    row = page.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await row.get_by_role("button", name="پذیرش").click()
    await expect(row).to_have_attribute("data-status", "accepted")
    await row.get_by_label("توضیح").fill("سطل‌ها تخلیه و محل شسته شد")
    await row.get_by_role("button", name="اعلام انجام کار").click()
    await expect(row).to_have_count(0)


async def supervisor_opens_verifications(page: Page, backend: RunningBackend, ticket: Filed) -> None:
    await log_in(page, backend.url, SUPERVISOR.username, SUPERVISOR.password, landing="/console")
    await page.get_by_role("link", name="تأیید با شهروند").click()
    await expect(page.locator("#connection")).to_have_text("متصل")
    row = page.locator(f'#verifications tr[data-code="{ticket.tracking_code}"]')
    await expect(row).to_contain_text("سطل‌ها تخلیه و محل شسته شد")  # what the unit said it did
    await expect(row).to_have_attribute("data-status", "pending")


def dialed_citizen(event: Mapping[str, str]) -> bool:
    return (event.get("Event") == "DialEnd" and event.get("DialStatus") == "ANSWER"
            and event.get("DestChannel", "").startswith("PJSIP/outbound-trunk-"))


async def test_given_a_referred_ticket_when_the_citizen_says_not_solved_and_the_field_supervisor_rules_then_closed(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver,
    pages: dict[str, Page],
) -> None:
    liaison, supervisor, field = pages["liaison"], pages["supervisor"], pages["field"]
    ticket = referred(backend)
    await liaison_reports_done(liaison, backend, ticket)
    await supervisor_opens_verifications(supervisor, backend, ticket)

    citizen = asyncio.create_task(sipp.citizen_answers(local_port=CITIZEN_PHONE_PORT))
    await asyncio.sleep(0.3)
    row = supervisor.locator(f'#verifications tr[data-code="{ticket.tracking_code}"]')
    try:
        await row.get_by_role("button", name="تماس", exact=True).click()
        await expect(supervisor.locator("#verifications-note")).to_contain_text("تلفن شما زنگ می‌زند")
        await expect(row).to_have_attribute("data-status", "calling")
        [talk] = await ami_observer.wait_for(dialed_citizen)  # the supervisor's phone, then the citizen's
        assert talk["Channel"].startswith(f"PJSIP/{SUPERVISOR.extension}-")
        await asyncio.sleep(1)
        await backend.services.web.ami.hang_up(talk["Channel"])  # the supervisor puts the phone down
    finally:
        result = await citizen
    assert result.successful == 1 and "caller-id 137" in result.output, result.output[-3000:]
    await supervisor.evaluate("document.fonts.ready.then(() => true)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await supervisor.screenshot(path=str(SCREENSHOT), full_page=True)

    await row.get_by_label(f"سخن شهروند درباره {ticket.tracking_code}").fill("سطل‌ها هنوز پر است و بو می‌دهد")
    await row.get_by_role("button", name="رفع نشده").click()
    await expect(row).to_have_count(0)
    assert status_of(backend.engine, ticket) == S.REOPENED

    # Back in the unit's inbox, live, with the citizen's words; the unit objects.
    back = liaison.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await expect(back).to_contain_text("سطل‌ها هنوز پر است و بو می‌دهد")
    await back.get_by_label("توضیح").fill("سطل‌ها صبح تخلیه شد؛ عکس داریم")
    await back.get_by_role("button", name="اعتراض").click()
    await expect(back).to_have_count(0)

    await log_in(field, backend.url, "loop.field", PASSWORD, landing="/inbox")
    disputed = field.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await disputed.get_by_role("button", name="حق با واحد").click()
    await expect(field.locator("#inbox-empty")).to_be_visible()

    assert status_of(backend.engine, ticket) == S.CLOSED_ON_VERDICT
    assert [step[0] for step in steps_of(backend.engine, ticket)] == [
        A.REFER, A.ACCEPT, A.REPORT_DONE, A.REQUEST_VERIFICATION, A.VERIFY_NOT_RESOLVED, A.DISPUTE, A.FIELD_VERDICT]


async def test_given_a_ticket_reported_done_when_the_automatic_call_hears_key_1_then_it_is_closed_verified(
    backend: RunningBackend, sipp: Sipp, pages: dict[str, Page],
) -> None:
    liaison, supervisor = pages["liaison"], pages["supervisor"]
    ticket = referred(backend)
    await liaison_reports_done(liaison, backend, ticket)
    await supervisor_opens_verifications(supervisor, backend, ticket)

    citizen = asyncio.create_task(sipp.citizen_answers(
        local_port=CITIZEN_PHONE_PORT, script=[Silence(3000), Keys("1"), Silence(6000), Keys("1")]))
    await asyncio.sleep(0.3)
    row = supervisor.locator(f'#verifications tr[data-code="{ticket.tracking_code}"]')
    try:
        await row.get_by_role("button", name="تماس خودکار").click()
        await expect(row).to_contain_text("خودکار")
        await expect(row).to_have_count(0, timeout=40_000)  # the dialer called, the citizen pressed 1
    finally:
        result = await citizen
    assert result.successful == 1, result.output[-3000:]
    assert status_of(backend.engine, ticket) == S.VERIFIED
    assert steps_of(backend.engine, ticket)[-1][0] == A.VERIFY_RESOLVED
