"""An operator files a ticket while PostgreSQL is stopped: the console keeps the form, says in Persian that the
database is away and that it is trying again, and once PostgreSQL is back the ticket is filed exactly once (the
same request_id on every try) and its tracking code shown (ADR 0087)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect
from sqlmodel import col, func, select

from callcenter.tickets.tracking_code import is_valid
from db.engine import unit_of_work, upgrade_database
from db.models import Ticket
from tests.browser.conftest import WebBackend, log_in
from tests.support.backend import OPERATOR_1
from tests.support.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.browser]

DESCRIPTION = "آب از لوله شکسته کنار پارک شهر جاری است"
WAITING = "ارتباط با پایگاه داده قطع است؛ دوباره تلاش می‌کنیم…"
OUTAGE_SECONDS = 10


@pytest.fixture
def database_url(private_postgres_server: PrivatePostgres) -> str:
    """This module's backend runs on a PostgreSQL of its own, which the test stops."""
    upgrade_database(private_postgres_server.url)
    return private_postgres_server.url


async def test_given_postgresql_stopped_when_an_operator_files_then_the_form_waits_in_persian_and_files_once(
    web_backend: WebBackend, console_page: Page, engine: sa.Engine, private_postgres_server: PrivatePostgres,
) -> None:
    page = console_page
    await log_in(page, web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    await expect(page).to_have_url(web_backend.url + "/console")
    await expect(page.locator("#connection")).to_have_text("متصل")
    await expect(page.locator("#category option")).not_to_have_count(0)
    await page.locator("#address").fill("خیابان طالقانی، روبه‌روی پارک شهر")
    await page.locator("#description").fill(DESCRIPTION)

    await asyncio.to_thread(private_postgres_server.stop)
    try:
        await page.locator("#file-ticket").click()
        retrying = page.locator("#ticket-retrying")
        await expect(retrying).to_have_text(WAITING, timeout=10_000)
        await expect(page.locator("#ticket-error")).to_be_hidden()
        await asyncio.sleep(OUTAGE_SECONDS)
        await expect(retrying).to_have_text(WAITING)  # still trying, the form as the operator typed it
        await expect(page.locator("#description")).to_have_value(DESCRIPTION)
        await expect(page.locator("#tracking-code")).to_be_hidden()
    finally:
        await asyncio.to_thread(private_postgres_server.start)

    tracking = page.locator("#tracking-code")
    await expect(tracking).to_be_visible(timeout=15_000)
    await expect(retrying).to_be_hidden()
    code = await tracking.get_attribute("data-code")
    assert code is not None and is_valid(code), code
    with unit_of_work(engine) as session:
        filed = session.exec(select(func.count()).select_from(Ticket)
                             .where(col(Ticket.description) == DESCRIPTION)).one()
        stored = session.exec(select(Ticket.tracking_code).where(col(Ticket.description) == DESCRIPTION)).one()
    assert (filed, stored) == (1, code)
