"""The service desk's receipt for the citizen (A6): what it says, its QR code of the status link, and its PDF."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import segno
from fpdf import FPDF
from sqlmodel import Session, select

from callcenter.citizens.links import status_link
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import NotFound, PermissionDenied
from callcenter.platform.persian import persian_digits
from callcenter.platform.persian_pdf import FONT, persian_document
from callcenter.platform.settings import Settings
from callcenter.tickets.tracking_code import format_for_reading, parse_tracking_code
from db.models import Category, Role, Ticket, TicketSource, Unit, User

MUNICIPALITY = "شهرداری قزوین"
HEADING = "رسید ثبت درخواست — میز خدمت حضوری"
FOLLOW_UP = "برای پیگیری، این نماد را با دوربین گوشی بخوانید یا با ۱۳۷ تماس بگیرید و کد رهگیری را بگویید."
# A6 portrait, in millimetres (fpdf2 names no A6): a quarter of an A4 sheet; desk.css prints the page so too.
PAGE_MM = (105.0, 148.0)
MARGIN_MM = 8.0
QR_MM = 42.0
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
# Medium error correction: a crumpled or smudged receipt still scans; the link stays a small symbol.
QR_ERROR = "m"
NOT_A_RECEIPT = "برای این کد رهگیری رسید حضوری وجود ندارد."
NOT_YOURS = "رسید هر درخواست را کارمندی که آن را ثبت کرده است (یا ناظر) دوباره چاپ می‌کند."
# A supervisor reprints a receipt when the desk's staff member who filed it is away.
REPRINTING_ROLES = frozenset({Role.SUPERVISOR})


@dataclass(frozen=True)
class Receipt:
    """One in-person ticket's receipt as the citizen reads it: Persian digits and the Jalali date."""

    tracking_code: str  # ASCII, for links and file names
    code_for_reading: str  # «۱۲۳-۴۵۶-۷۸۹»
    category: str
    district: str
    filed_on: str  # «۱۴۰۵/۰۹/۱۱»
    filed_at: str  # «۱۰:۳۰», Tehran time
    status_link: str

    def qr(self) -> segno.QRCode:
        return segno.make(self.status_link, error=QR_ERROR)

    def qr_svg(self) -> str:
        """Inline SVG markup (no data: URL, which the pages' img-src policy refuses; no style attribute either)."""
        svg: str = self.qr().svg_inline(scale=4, border=QR_BORDER, title="پیوند پیگیری درخواست")
        return svg

    def pdf_filename(self) -> str:
        return f"receipt-{self.tracking_code}.pdf"


def receipt_for(session: Session, *, tracking_code: str, reader: User, settings: Settings) -> Receipt:
    """The receipt of an in-person ticket, for the staff member who filed it (or a supervisor, to reprint)."""
    code = parse_tracking_code(tracking_code)
    ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).first()
    if ticket is None or ticket.source != TicketSource.IN_PERSON:
        raise NotFound(NOT_A_RECEIPT, code=code)
    if ticket.created_by_id != reader.id and reader.role not in REPRINTING_ROLES:
        raise PermissionDenied(NOT_YOURS, code=code)
    category = session.get(Category, ticket.category_id) if ticket.category_id is not None else None
    district = session.get(Unit, ticket.district_id) if ticket.district_id is not None else None
    filed_on, filed_at = jalali_timestamp(ticket.created_at)
    return Receipt(
        tracking_code=code, code_for_reading=persian_digits(format_for_reading(code)),
        category=category.name if category else "—", district=district.name if district else "—",
        filed_on=filed_on, filed_at=filed_at, status_link=status_link(settings, code),
    )


def receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt on one A6 page: the municipality, the code in large Persian digits, what and where, when, and
    the QR code of the status link drawn as vector squares (sharp on any printer)."""
    pdf = persian_document(title=f"{HEADING} {receipt.code_for_reading}", page_format=PAGE_MM)
    pdf.set_auto_page_break(auto=False)  # one page, laid out by hand
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 8, MUNICIPALITY, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 6, HEADING, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, "کد رهگیری", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 22)
    pdf.cell(0, 11, receipt.code_for_reading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FONT, "", 10)
    for label, value in (("موضوع", receipt.category), ("منطقه", receipt.district),
                         ("تاریخ ثبت", f"{receipt.filed_on} ساعت {receipt.filed_at}")):
        pdf.multi_cell(0, 6, f"{label}: {value}", align="R", new_x="LMARGIN", new_y="NEXT")
    _draw_qr(pdf, receipt.qr(), x=(PAGE_MM[0] - QR_MM) / 2, y=pdf.get_y() + 3)
    pdf.set_y(pdf.get_y() + 3 + QR_MM + 2)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(0, 5, FOLLOW_UP, align="C")
    return bytes(pdf.output())


def _draw_qr(pdf: FPDF, qr: segno.QRCode, *, x: float, y: float) -> None:
    """Each row's runs of dark modules as filled rectangles, on a white square that is the quiet zone."""
    rows = [list(row) for row in qr.matrix_iter(scale=1, border=QR_BORDER)]
    module = QR_MM / len(rows)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, QR_MM, QR_MM, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(rows):
        column = 0
        for dark, run in groupby(row):
            length = len(list(run))
            if dark:
                # A hair taller than a module, so antialiasing leaves no pale seam between rows.
                pdf.rect(x + column * module, y + row_index * module, length * module, module * 1.02, style="F")
            column += length
