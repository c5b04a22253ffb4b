"""The service desk in a real browser: a desk account logs in, fills the form for a citizen at the counter, gets
the receipt page (the code in Persian digits, printable alone), downloads the PDF, and the QR code on the PDF,
rendered to an image and decoded, is exactly the ticket's signed status link; so is the QR code of the page as
chromium prints it, on one A6 sheet."""

from __future__ import annotations

import re

import pypdfium2
import pytest
import zxingcpp
from playwright.async_api import Page, expect
from sqlmodel import select

from callcenter.citizens.links import status_link
from callcenter.platform.persian import persian_digits
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import Role, Ticket, TicketSource
from tests.browser.conftest import WebBackend, log_in
from tests.support.axe import assert_accessible
from tests.support.ticket_flow import PASSWORD, add_staff

pytestmark = pytest.mark.browser

COUNTER = "counter.browser"
CATEGORY = "روشنایی معابر و پارک‌ها"
DISTRICT = "منطقه سه"
# PDF points to pixels: 4 × 72 dpi, so each QR module spans several pixels.
RENDER_SCALE = 4
A6_MM = (105, 148)
POINTS_PER_MM = 72 / 25.4


async def fill_the_desk_form(page: Page, *, mobile: str, description: str) -> None:
    form = page.locator("#desk-form")
    await form.get_by_label("موضوع").select_option(label=CATEGORY)
    await form.get_by_label("منطقه").select_option(label=DISTRICT)
    await form.get_by_label("نشانی").fill("بلوار نوروزیان، روبه‌روی پارک")
    await form.get_by_label("شرح درخواست").fill(description)
    await form.get_by_label("شماره همراه شهروند (اختیاری)").fill(mobile)


def page_size_mm(pdf: bytes) -> tuple[int, int]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == 1  # the receipt fits its one sheet
        width, height = document[0].get_size()
    finally:
        document.close()
    return round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)


def qr_codes_on(pdf: bytes) -> list[str]:
    """Every QR code zxing-cpp finds on the PDF's first page, rendered to an image as a phone's camera sees it."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=RENDER_SCALE).to_pil()
    finally:
        document.close()
    return [found.text for found in zxingcpp.read_barcodes(image) if found.format == zxingcpp.BarcodeFormat.QRCode]


async def test_given_a_desk_account_when_it_files_for_a_citizen_then_the_receipt_s_pdf_qr_is_the_status_link(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page = console_page
    add_staff(web_backend.engine, COUNTER, Role.DESK)
    await log_in(page, web_backend.url, COUNTER, PASSWORD, landing="/desk")
    await assert_accessible(page)

    await fill_the_desk_form(page, mobile="۰۹۱۲۳۴۵", description="")
    await page.locator("#desk-form").evaluate("form => form.noValidate = true")  # as a browser without checks
    await page.get_by_role("button", name="ثبت درخواست و چاپ رسید").click()
    await expect(page.get_by_role("alert")).to_contain_text("شرح درخواست را بنویسید")
    await expect(page.get_by_label("نشانی")).to_have_value("بلوار نوروزیان، روبه‌روی پارک")  # nothing typed lost
    await expect(page.get_by_label("منطقه")).to_have_value(await selected_value(page, "منطقه", DISTRICT))
    await expect(page.get_by_label("شماره همراه شهروند (اختیاری)")).to_have_value("۰۹۱۲۳۴۵")
    await page.get_by_label("شرح درخواست").fill("چراغ‌های خیابان دو شب است خاموش است")
    await page.get_by_label("شماره همراه شهروند (اختیاری)").fill("")
    await page.get_by_role("button", name="ثبت درخواست و چاپ رسید").click()

    await expect(page).to_have_url(re.compile(re.escape(web_backend.url) + r"/desk/receipts/\d{9}$"))
    code = page.url.rsplit("/", 1)[1]
    with unit_of_work(web_backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        assert (ticket.source, ticket.caller_number) == (TicketSource.IN_PERSON, None)
    grouped = persian_digits(format_for_reading(code))
    await expect(page.locator("#receipt-code")).to_have_text(grouped)
    await expect(page.locator("#receipt-category")).to_have_text(CATEGORY)
    await expect(page.locator("#receipt-district")).to_have_text(DISTRICT)
    await assert_accessible(page)

    await page.emulate_media(media="print")  # what the printer gets: the receipt alone
    await expect(page.locator(".topbar")).to_be_hidden()
    await expect(page.locator(".receipt-actions")).to_be_hidden()
    await expect(page.locator("#receipt-code")).to_have_text(grouped)
    printed = await page.pdf(prefer_css_page_size=True, print_background=True)
    assert page_size_mm(printed) == A6_MM
    assert qr_codes_on(printed) == [status_link(web_backend.services.settings, code)]  # the page's own QR too
    await page.emulate_media(media="screen")

    async with page.expect_download() as download_info:
        await page.locator("#receipt-pdf").click()
    download = await download_info.value
    assert download.suggested_filename == f"receipt-{code}.pdf"
    pdf = (await download.path()).read_bytes()

    assert qr_codes_on(pdf) == [status_link(web_backend.services.settings, code)]


async def selected_value(page: Page, label: str, option: str) -> str:
    value = await page.get_by_label(label).locator("option", has_text=option).get_attribute("value")
    assert value is not None
    return value
