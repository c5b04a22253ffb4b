"""The desk's receipt: the PDF is one A6 page whose QR code decodes to the status link and whose text carries the
code in Persian digits; the page's inline SVG needs nothing the pages' policy refuses."""

from __future__ import annotations

import re

import pypdfium2
import zxingcpp

from callcenter.citizens.receipts import PAGE_MM, Receipt, receipt_pdf
from callcenter.platform.persian import persian_digits
from callcenter.tickets.tracking_code import format_for_reading, new_tracking_code

POINTS_PER_MM = 72 / 25.4


def a_receipt(*, link: str) -> Receipt:
    code = new_tracking_code()
    return Receipt(tracking_code=code, code_for_reading=persian_digits(format_for_reading(code)),
                   category="جمع‌آوری زباله", district="منطقه دو", filed_on="۱۴۰۵/۰۹/۱۱", filed_at="۱۰:۳۰",
                   status_link=link)


def test_given_a_receipt_when_made_a_pdf_then_one_a6_page_whose_qr_decodes_to_the_status_link() -> None:
    receipt = a_receipt(link=f"https://137.example.ir/citizen/s/{new_tracking_code()}/AbC-_dEf12345678")

    document = pypdfium2.PdfDocument(receipt_pdf(receipt))
    try:
        assert len(document) == 1
        page = document[0]
        width, height = page.get_size()
        text = page.get_textpage().get_text_range()
        image = page.render(scale=3).to_pil()
    finally:
        document.close()

    assert (round(width / POINTS_PER_MM), round(height / POINTS_PER_MM)) == PAGE_MM
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [receipt.status_link]
    for shown in (receipt.code_for_reading, "شهرداری قزوین", "منطقه دو", "۱۴۰۵/۰۹/۱۱"):
        assert shown in text, shown


def test_given_a_receipt_when_shown_on_the_page_then_its_qr_is_inline_svg_without_styles_or_data_urls() -> None:
    svg = a_receipt(link="http://127.0.0.1:8000/citizen/s/123456784/abcdefghijklmnop").qr_svg()
    assert svg.startswith("<svg") and "<title>" in svg
    assert not re.search(r"\sstyle=|data:|<script", svg)
