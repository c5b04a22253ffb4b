"""The unit liaison's inbox in a real browser on a web-only backend: a referred ticket appears, the liaison accepts
it and reports it done by clicking (the note is required), the database follows; an overdue ticket stands out;
more tickets than a page are read page after page, and a tab shows one status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, Route, expect
from sqlmodel import col, select

from callcenter.platform.persian import persian_digits
from callcenter.tickets.inbox import PAGE_SIZE
from callcenter.tickets.lifecycle import ACTION_ROLES, TRANSITIONS, apply_action
from callcenter.tickets.store import to_public
from db.engine import unit_of_work
from db.models import Role, Ticket, TicketAction, TicketPriority, TicketStatus, User
from tests.browser.conftest import WebBackend, log_in
from tests.support.photos import image_bytes
from tests.support.ticket_flow import (
    PASSWORD,
    WASTE,
    Filed,
    add_staff,
    bulk_referred_tickets,
    referred_long_ago,
    referred_ticket,
    status_of,
    steps_of,
)

pytestmark = [pytest.mark.browser]

S, A = TicketStatus, TicketAction
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "inbox.png"


async def log_in_to_inbox(page: Page, url: str, username: str) -> None:
    await log_in(page, url, username, PASSWORD, landing="/inbox")
    await expect(page.locator("#connection")).to_have_text("متصل")


def a_liaison_and_tickets(engine: sa.Engine) -> tuple[User, Filed, Filed]:
    operator = add_staff(engine, "inbox.operator", Role.OPERATOR)
    liaison = add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    fresh = referred_ticket(engine, by=operator, unit=WASTE, description="سطل زباله سر کوچه پر است",
                            priority=TicketPriority.URGENT)
    late = referred_ticket(engine, by=operator, unit=WASTE, description="زباله‌ها دو روز است جمع نشده",
                           address="بلوار نوروزیان، پلاک ۸")
    referred_long_ago(engine, late, by=timedelta(hours=30))  # garbage has 24 hours
    return liaison, fresh, late


async def test_given_a_ticket_referred_to_a_unit_when_its_liaison_accepts_and_reports_done_then_the_database_follows(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page, database_url: str,
) -> None:
    page = console_page
    _liaison, fresh, late = a_liaison_and_tickets(engine)
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")

    await expect(page.locator("#unit-name")).to_have_text(WASTE)
    fresh_row, late_row = (page.locator(f'#inbox tr[data-code="{t.tracking_code}"]') for t in (fresh, late))
    await expect(fresh_row).to_contain_text("سطل زباله سر کوچه پر است")
    await expect(fresh_row).to_contain_text("جمع‌آوری زباله")
    await expect(fresh_row).to_contain_text("منطقه دو")
    await expect(fresh_row).to_contain_text("فوری")
    await expect(fresh_row).to_contain_text("ارجاع‌شده به واحد")
    await expect(fresh_row.locator("td").nth(6)).to_contain_text("مانده")
    await expect(fresh_row).to_have_attribute("data-overdue", "no")
    await expect(late_row).to_have_attribute("data-overdue", "yes")
    await expect(late_row).to_have_class("overdue")
    await expect(late_row.locator(".late")).to_have_text("۶ ساعت و ۰ دقیقه گذشته")
    assert await late_row.evaluate("r => getComputedStyle(r).backgroundColor") != "rgba(0, 0, 0, 0)"
    if database_url.startswith("sqlite"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.evaluate("document.fonts.ready.then(() => true)")
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

    await fresh_row.get_by_role("button", name="پذیرش").click()
    await expect(fresh_row).to_have_attribute("data-status", "accepted")
    await expect(fresh_row).to_contain_text("در دست اقدام واحد")

    await fresh_row.get_by_role("button", name="اعلام انجام کار").click()  # without saying what was done
    await expect(fresh_row.locator(".error")).to_have_text("بنویسید چه کاری انجام شد.")
    assert status_of(engine, fresh) == S.ACCEPTED
    await fresh_row.get_by_label("توضیح").fill("سطل خالی و محل شسته شد")
    await fresh_row.get_by_role("button", name="اعلام انجام کار").click()

    await expect(fresh_row).to_have_count(0)  # done: no longer the unit's to act on
    await expect(page.locator("#inbox-count")).to_have_text("۱")
    assert status_of(engine, fresh) == S.DONE
    assert steps_of(engine, fresh) == [
        (A.REFER, S.REGISTERED, S.REFERRED, ""), (A.ACCEPT, S.REFERRED, S.ACCEPTED, ""),
        (A.REPORT_DONE, S.ACCEPTED, S.DONE, "سطل خالی و محل شسته شد"),
    ]


async def test_given_a_ticket_moved_on_elsewhere_when_the_liaison_clicks_then_the_persian_conflict_shows(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    page = console_page
    _liaison, fresh, _late = a_liaison_and_tickets(engine)
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")
    row = page.locator(f'#inbox tr[data-code="{fresh.tracking_code}"]')
    await expect(row).to_be_visible()
    supervisor = add_staff(engine, "inbox.supervisor", Role.SUPERVISOR)
    with unit_of_work(engine) as session:  # a supervisor withdraws it while the liaison's page still shows it
        apply_action(session, ticket_id=fresh.id, action=A.CANCEL, actor=supervisor, note="تکراری")
    await row.get_by_role("button", name="پذیرش").click()
    await expect(row.locator(".error")).to_contain_text("وضعیت این درخواست در این فاصله تغییر کرده")
    assert status_of(engine, fresh) == S.CANCELLED


async def test_given_a_disputed_ticket_when_the_field_supervisor_rules_partly_then_it_goes_back_to_the_unit(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    page = console_page
    liaison, fresh, _late = a_liaison_and_tickets(engine)
    operator = add_staff(engine, "verifying.operator", Role.OPERATOR)
    add_staff(engine, "field.supervisor", Role.FIELD_SUPERVISOR)
    with unit_of_work(engine) as session:
        for action, actor, note in ((A.ACCEPT, liaison, ""), (A.REPORT_DONE, liaison, "جمع شد"),
                                    (A.REQUEST_VERIFICATION, operator, ""),
                                    (A.VERIFY_NOT_RESOLVED, operator, "کیسه‌های زباله هنوز کنار جوی است"),
                                    (A.DISPUTE, liaison, "عکس محل پاکیزه را داریم")):
            apply_action(session, ticket_id=fresh.id, action=action, actor=actor, note=note)
    await log_in_to_inbox(page, web_backend.url, "field.supervisor")

    row = page.locator(f'#inbox tr[data-code="{fresh.tracking_code}"]')
    await expect(page.locator("#inbox tbody tr")).to_have_count(1)  # only the disputed one
    await expect(row).to_contain_text("سخن شهروند: کیسه‌های زباله هنوز کنار جوی است")
    await expect(row).to_contain_text("دلیل اعتراض واحد: عکس محل پاکیزه را داریم")
    await row.get_by_role("button", name="تا حدی").click()
    await expect(row.locator(".error")).to_have_text("بنویسید کدام بخش از کار هنوز مانده است.")
    await row.get_by_label("توضیح").fill("دو کیسه کنار جوی مانده است")
    await row.get_by_role("button", name="تا حدی").click()

    await expect(page.locator("#inbox-empty")).to_be_visible()
    assert status_of(engine, fresh) == S.REOPENED
    assert steps_of(engine, fresh)[-1] == (A.FIELD_VERDICT, S.DISPUTED, S.REOPENED, "دو کیسه کنار جوی مانده است")


async def test_given_a_refresh_already_on_its_way_when_the_liaison_writes_a_note_and_picks_a_photo_then_both_survive(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page, tmp_path: Path,
) -> None:
    page = console_page
    liaison, fresh, late = a_liaison_and_tickets(engine)
    with unit_of_work(engine) as session:  # accepted: its row offers the note and the photos of "report done"
        apply_action(session, ticket_id=fresh.id, action=A.ACCEPT, actor=liaison)
    photo = tmp_path / "after.png"
    photo.write_bytes(image_bytes("PNG", size=(40, 30), colour="teal"))
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")
    row = page.locator(f'#inbox tr[data-code="{fresh.tracking_code}"]')
    await expect(row).to_be_visible()
    asked, release = asyncio.Event(), asyncio.Event()

    async def hold(route: Route) -> None:
        response = await route.fetch()
        asked.set()
        await release.wait()
        await route.fulfill(response=response)

    await page.route("**/api/inbox", hold)
    with unit_of_work(engine) as session:  # someone else's change: the page refreshes (nobody is typing yet)
        other = session.get(Ticket, late.id)
        assert other is not None
        web_backend.services.web.notifier.ticket_changed(to_public(session, other), action=A.REFER)
    await asyncio.wait_for(asked.wait(), 10)
    await row.locator(".photos-input").set_input_files(photo)
    await row.get_by_label("توضیح").fill("سطل خالی و محل شسته شد")
    release.set()
    await page.wait_for_load_state("networkidle")

    await expect(row.get_by_label("توضیح")).to_have_value("سطل خالی و محل شسته شد")
    await expect(row.get_by_label("توضیح")).to_be_focused()
    assert await row.locator(".photos-input").evaluate("input => input.files.length") == 1


async def test_given_a_liaison_typing_a_note_when_a_live_event_rebuilds_its_row_then_the_words_caret_and_focus_stay(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    """Rows update in place (keyed by tracking code): a refresh that lands mid-sentence changes the row's text
    but not what is being typed, nor where the caret is."""
    page = console_page
    _liaison, fresh, _late = a_liaison_and_tickets(engine)
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")
    row = page.locator(f'#inbox tr[data-code="{fresh.tracking_code}"]')
    note = row.get_by_label("توضیح")
    await note.click()
    await note.press_sequentially("این درخواست")
    with unit_of_work(engine) as session:  # the ticket's description is corrected elsewhere, and announced
        ticket = session.get(Ticket, fresh.id)
        assert ticket is not None
        ticket.description = "سطل زباله سر کوچه پر است و بو می‌دهد"
        session.add(ticket)
        session.commit()
        session.refresh(ticket)
        web_backend.services.web.notifier.ticket_changed(to_public(session, ticket), action=A.REFER)
    await expect(row).to_contain_text("و بو می‌دهد")  # the row was rebuilt with the new words
    await note.press_sequentially(" به واحد ما مربوط نیست")  # typing goes on where it was

    await expect(note).to_have_value("این درخواست به واحد ما مربوط نیست")
    await expect(note).to_be_focused()


async def test_given_the_liaisons_rows_then_their_buttons_are_the_lifecycle_tables_steps_for_the_liaison(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    """The page restates no rule: what it offers per status is what the transition table allows the role."""
    page = console_page
    liaison, fresh, late = a_liaison_and_tickets(engine)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=fresh.id, action=A.ACCEPT, actor=liaison)
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")
    for filed, status in ((fresh, S.ACCEPTED), (late, S.REFERRED)):
        row = page.locator(f'#inbox tr[data-code="{filed.tracking_code}"]')
        await expect(row).to_have_attribute("data-status", status.value)
        shown = await row.locator("button[data-action]").evaluate_all("bs => bs.map(b => b.dataset.action)")
        table = [action.value for source, action, _ in TRANSITIONS
                 if source == status and Role.UNIT_LIAISON in ACTION_ROLES[action]]
        assert shown == table, status
        assert table  # the table gives the liaison something to do in both


async def test_given_more_tickets_than_a_page_when_the_liaison_pages_through_and_picks_a_tab_then_each_shows_once(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page,
) -> None:
    """A page is the server's size; «نمایش … درخواست بعدی» brings the next one under it; a refresh (after acting)
    reads both pages again; each tab shows its status with its count."""
    page = console_page
    add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    count = PAGE_SIZE + 5
    ids = bulk_referred_tickets(engine, unit=WASTE, count=count, prefix="P", real_codes=True,
                                referred_at=datetime.now(UTC) - timedelta(hours=1))
    with unit_of_work(engine) as session:
        codes = dict(session.exec(select(Ticket.id, Ticket.tracking_code).where(col(Ticket.id).in_(list(ids)))).all())
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")
    rows, more = page.locator("#inbox tbody tr"), page.locator("#inbox-more")

    await expect(rows).to_have_count(PAGE_SIZE)
    await expect(page.locator("#inbox-count")).to_have_text(persian_digits(count))
    await expect(page.locator("#inbox-shown")).to_have_text(
        f"{persian_digits(PAGE_SIZE)} از {persian_digits(count)} درخواست")
    await expect(more).to_have_text("نمایش ۵ درخواست بعدی")
    await more.click()

    await expect(rows).to_have_count(count)
    await expect(more).to_be_hidden()
    # Urgent, high, normal in turn from the first, all due at once: by priority, then in the order they came.
    in_order = [codes[ids[i - 1]] for first in (1, 2, 3) for i in range(first, count + 1, 3)]
    assert await rows.evaluate_all("rows => rows.map(row => row.dataset.code)") == in_order
    last = page.locator(f'#inbox tr[data-code="{in_order[-1]}"]')
    await last.get_by_role("button", name="پذیرش").click()  # on the second page: the refresh reads both again
    await expect(last).to_have_attribute("data-status", "accepted")
    await expect(rows).to_have_count(count)
    tabs = page.locator("#inbox-tabs button")
    await expect(tabs).to_have_text([f"همه ({persian_digits(count)})",
                                     f"ارجاع‌شده به واحد ({persian_digits(count - 1)})",
                                     "بازگشایی‌شده (۰)", "در دست اقدام واحد (۱)"])

    await page.locator('#inbox-tabs button[data-tab="accepted"]').click()
    await expect(rows).to_have_count(1)
    await expect(last).to_be_visible()
    await expect(page.locator("#inbox-count")).to_have_text("۱")
    await expect(page.locator('#inbox-tabs button[aria-pressed="true"]')).to_have_attribute("data-tab", "accepted")
    await expect(more).to_be_hidden()
    await page.locator('#inbox-tabs button[data-tab="all"]').click()
    await expect(rows).to_have_count(PAGE_SIZE)
    await expect(more).to_be_visible()
