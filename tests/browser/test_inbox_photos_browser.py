"""Photos on report-done in a real browser: the liaison picks photos in the inbox's file input and reports the work
done; once the ticket is disputed, the field supervisor's inbox shows them as thumbnails linking to the image."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.async_api import BrowserContext, Page, expect
from sqlmodel import select

from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, TicketAction, TicketAttachment, TicketStatus
from tests.browser.conftest import WebBackend, log_in
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket, status_of

pytestmark = [pytest.mark.browser]

S, A = TicketStatus, TicketAction


async def log_in_to_inbox(page: Page, url: str, username: str) -> None:
    await log_in(page, url, username, PASSWORD, landing="/inbox")
    await expect(page.locator("#connection")).to_have_text("متصل")


async def test_given_an_accepted_ticket_when_the_liaison_reports_done_with_a_photo_then_the_field_supervisor_sees_it(
    engine: sa.Engine, web_backend: WebBackend, console_page: Page, browser_context: BrowserContext, tmp_path: Path,
) -> None:
    page = console_page
    operator = add_staff(engine, "photos.operator", Role.OPERATOR)
    liaison = add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "field.supervisor", Role.FIELD_SUPERVISOR)
    ticket = referred_ticket(engine, by=operator, unit=WASTE, description="نخاله کنار جوی ریخته شده")
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
    photo = tmp_path / "after.png"
    photo.write_bytes(image_bytes("PNG", size=(120, 90), colour="tomato"))
    await log_in_to_inbox(page, web_backend.url, "waste.liaison")

    row = page.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    await row.get_by_label("توضیح").fill("نخاله جمع و محل جارو شد")
    await row.locator(".photos-input").set_input_files([photo] * 6)  # one too many: the page says so at once
    await row.get_by_role("button", name="اعلام انجام کار").click()
    await expect(row.locator(".error")).to_have_text("حداکثر ۵ عکس می‌توانید بفرستید.")
    assert status_of(engine, ticket) == S.ACCEPTED
    await row.locator(".photos-input").set_input_files(photo)
    await row.get_by_role("button", name="اعلام انجام کار").click()

    await expect(row).to_have_count(0)
    assert status_of(engine, ticket) == S.DONE
    with unit_of_work(engine) as session:
        [stored] = session.exec(select(TicketAttachment)).all()
    assert (stored.content_type, stored.size) == ("image/png", photo.stat().st_size)

    with unit_of_work(engine) as session:  # the citizen says it is not done; the unit disputes it
        for action, actor, note in ((A.REQUEST_VERIFICATION, operator, ""),
                                    (A.VERIFY_NOT_RESOLVED, operator, "هنوز نخاله آنجاست"),
                                    (A.DISPUTE, liaison, "عکس محل پاکیزه را فرستاده‌ایم")):
            apply_action(session, ticket_id=ticket.id, action=action, actor=actor, note=note)
    await browser_context.clear_cookies()
    await log_in_to_inbox(page, web_backend.url, "field.supervisor")

    disputed = page.locator(f'#inbox tr[data-code="{ticket.tracking_code}"]')
    thumbnail = disputed.get_by_role("img", name="عکس ۱ گزارش انجام کار")
    await expect(thumbnail).to_be_visible()
    # Visible is not yet loaded: wait for the browser to fetch and decode it, then check it is the real image.
    assert await thumbnail.evaluate("image => image.decode().then(() => image.naturalWidth)") == 120
    link = disputed.get_by_role("link", name="عکس ۱ گزارش انجام کار")  # named by the image inside it
    await expect(link).to_have_attribute("href", f"/api/tickets/{ticket.tracking_code}/photos/{stored.id}")
