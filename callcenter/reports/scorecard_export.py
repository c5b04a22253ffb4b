"""The scorecard as files for the mayor: an RTL Excel workbook with a chart, and a Persian A4 PDF with a chart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from itertools import pairwise
from typing import TypeVar

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from callcenter.platform.calendar import jalali_month_label, jalali_timestamp
from callcenter.platform.persian import persian_digits
from callcenter.platform.persian_pdf import FONT, persian_document
from callcenter.reports.scorecard import Scorecard, ScorecardTrend, TrendPoint, UnitScore, UnitTrend
from callcenter.tickets.channels import CHANNEL_NAMES, Channel, ChannelCounts

# Ten units per page leave room for the table and the chart of the same units on one A4 landscape page, so the
# mayor reads each unit's figures and its bar side by side.
UNITS_PER_PAGE = 10
GREEN = (11, 110, 79)
PALE_GREEN = (225, 240, 233)
GREY = (120, 120, 120)

Chunked = TypeVar("Chunked")

PERCENT = "pct"
HOURS = "hours"
COUNT = "count"
TEXT = "text"


@dataclass(frozen=True)
class Column:
    """One column of the exports: Persian header, the value, how it is shown, and its width in characters."""

    header: str
    value: Callable[[UnitScore], str | int | float | None]
    kind: str
    width: int = 12


def _channel_column(channel: Channel) -> Column:
    return Column(f"دریافتی از {CHANNEL_NAMES[channel]}", lambda u: u.received_by_channel.of(channel), COUNT, 11)


XLSX_COLUMNS: tuple[Column, ...] = (
    Column("رتبه", lambda u: u.rank, COUNT, 7),
    Column("واحد", lambda u: u.unit_name, TEXT, 28),
    Column("امتیاز", lambda u: u.score, PERCENT, 9),
    Column("دریافتی", lambda u: u.received, COUNT, 9),
    *(_channel_column(channel) for channel in Channel),
    Column("خارج‌شده پیش از انجام", lambda u: u.left_before_done, COUNT),
    Column("گزارش انجام", lambda u: u.reported_done, COUNT),
    Column("به‌موقع", lambda u: u.on_time, COUNT, 9),
    Column("دیرکرد", lambda u: u.late, COUNT, 9),
    Column("پاسخ به‌موقع", lambda u: u.on_time_rate, PERCENT),
    Column("میانه زمان انجام (ساعت)", lambda u: u.median_hours_to_done, HOURS, 14),
    Column("صدک ۹۰ زمان انجام (ساعت)", lambda u: u.p90_hours_to_done, HOURS, 14),
    Column("تأیید حل‌شده", lambda u: u.verified_resolved, COUNT),
    Column("تأیید حل‌نشده", lambda u: u.verified_not_resolved, COUNT),
    Column("تأیید در تماس", lambda u: u.verification_pass_rate, PERCENT),
    Column("بازگشایی", lambda u: u.reopened, COUNT, 10),
    Column("نرخ بازگشایی", lambda u: u.reopen_rate, PERCENT),
    Column("رأی ناظر علیه واحد", lambda u: u.verdicts_against, COUNT),
    Column("رأی ناظر له واحد", lambda u: u.verdicts_for, COUNT),
    Column("پرسش از شهروند", lambda u: u.citizens_asked, COUNT),
    Column("شهروند راضی", lambda u: u.citizens_satisfied, COUNT),
    Column("رضایت شهروند", lambda u: u.citizen_satisfaction, PERCENT),
)

# The PDF has the page's columns (the receipts per channel in a line above the table): all 25 would not be
# readable across an A4 page.
PDF_COLUMNS: tuple[Column, ...] = (
    Column("رتبه", lambda u: u.rank, COUNT, 10),
    Column("واحد", lambda u: u.unit_name, TEXT, 48),
    Column("امتیاز", lambda u: u.score, PERCENT, 17),
    Column("دریافتی", lambda u: u.received, COUNT, 17),
    Column("پاسخ به‌موقع", lambda u: u.on_time_rate, PERCENT, 22),
    Column("میانه زمان انجام (ساعت)", lambda u: u.median_hours_to_done, HOURS, 27),
    Column("صدک ۹۰ (ساعت)", lambda u: u.p90_hours_to_done, HOURS, 22),
    Column("تأیید در تماس", lambda u: u.verification_pass_rate, PERCENT, 22),
    Column("بازگشایی", lambda u: u.reopen_rate, PERCENT, 20),
    Column("رأی ناظر (علیه / له)", lambda u: f"{persian_digits(u.verdicts_against)} / {persian_digits(u.verdicts_for)}",
           TEXT, 30),
    Column("رضایت شهروند", lambda u: u.citizen_satisfaction, PERCENT, 22),
)


@dataclass(frozen=True)
class TrendMeasure:
    """One figure the trend follows month by month: its Persian name and where a month's point keeps it."""

    header: str
    value: Callable[[TrendPoint], int | float | None]
    kind: str


# The score and the three rates it is made of, then the receipts they are rates of.
TREND_MEASURES: tuple[TrendMeasure, ...] = (
    TrendMeasure("امتیاز", lambda p: p.score, PERCENT),
    TrendMeasure("پاسخ به‌موقع", lambda p: p.on_time_rate, PERCENT),
    TrendMeasure("تأیید در تماس", lambda p: p.verification_pass_rate, PERCENT),
    TrendMeasure("نرخ بازگشایی", lambda p: p.reopen_rate, PERCENT),
    TrendMeasure("دریافتی", lambda p: p.received, COUNT),
)
# One colour per unit line, the same order as the page's (scorecard.js): the rank-1 unit is always blue.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)


def trend_title(trend: ScorecardTrend) -> str:
    """«روند کارنامه ارزیابی — تیر ۱۴۰۵ تا آذر ۱۴۰۵»."""
    first, last = trend.months[0], trend.months[-1]
    return (f"روند کارنامه ارزیابی — {jalali_month_label(first.year, first.month)} تا "
            f"{jalali_month_label(last.year, last.month)}")


def scorecard_title(year: int, month: int) -> str:
    """The heading both files carry, e.g. «کارنامه ارزیابی واحدها — آذر ۱۴۰۵»."""
    return f"کارنامه ارزیابی واحدها — {jalali_month_label(year, month)}"


def export_filename(year: int, month: int, extension: str) -> str:
    """ASCII, so every browser and mail client keeps it: scorecard-1405-09.xlsx."""
    return f"scorecard-{year:04d}-{month:02d}.{extension}"


def display(value: str | int | float | None, kind: str) -> str:
    """A cell as the mayor reads it on paper: Persian digits, percentages rounded like the page, — for no data."""
    if value is None:
        return "—"
    if kind == PERCENT:
        return f"{persian_digits(round(float(value) * 100))}٪"
    if kind == HOURS:
        return persian_digits(f"{float(value):.1f}")
    return persian_digits(value)


def channel_note(counts: ChannelCounts) -> str:
    """«ارجاع‌ها به تفکیک مسیر ثبت: تلفن ۳ · سامانه اینترنتی ۱ · …», as the page has it."""
    parts = " · ".join(f"{CHANNEL_NAMES[channel]} {persian_digits(counts.of(channel))}" for channel in Channel)
    return f"ارجاع‌ها به تفکیک مسیر ثبت: {parts}"


def generated_note(card: Scorecard | ScorecardTrend) -> str:
    """When the figures were taken, in Tehran's Jalali calendar: outcomes keep changing after the month ends."""
    day, clock = jalali_timestamp(card.generated_at)
    return f"ارقام تا {day} ساعت {clock}"


# --- XLSX ---------------------------------------------------------------------------------------------------------

XLSX_NUMBER_FORMATS = {PERCENT: "0%", HOURS: "0.0", COUNT: "0"}
TITLE_ROW, HEADER_ROW = 1, 3


def scorecard_xlsx(card: Scorecard, *, title: str, trend: ScorecardTrend | None = None) -> bytes:
    """A right-to-left sheet: title, Persian headers, a row per unit in rank order, and a bar chart of the scores;
    with a trend, a second sheet «روند» with it month by month and a line chart of the scores."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "کارنامه"
    sheet.sheet_view.rightToLeft = True
    sheet.cell(TITLE_ROW, 1, title).font = Font(bold=True, size=14)
    sheet.cell(TITLE_ROW + 1, 1, generated_note(card)).font = Font(color="777777")
    _write_header(sheet)
    for offset, unit in enumerate(sorted(card.units, key=lambda u: u.rank), start=1):
        _write_unit(sheet, HEADER_ROW + offset, unit)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 3)  # header and the rank / unit columns stay in view
    if card.units:
        _add_score_chart(sheet, len(card.units))
    if trend is not None:
        _trend_sheet(book.create_sheet("روند"), trend)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _write_header(sheet: Worksheet) -> None:
    fill = PatternFill("solid", fgColor="0B6E4F")
    for index, column in enumerate(XLSX_COLUMNS, start=1):
        cell = sheet.cell(HEADER_ROW, index, column.header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 32


# A text cell starting with one of these is read by a spreadsheet as a formula (or, after a tab or CR, by a CSV
# round trip): ``=HYPERLINK("http://evil", "واحد")`` as a unit's name would be a live link in the mayor's file.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def write_value(sheet: Worksheet, row: int, column: int, value: str | int | float | None) -> Cell:
    """A cell whose text is always text: numbers stay numbers, a string is never a formula. A string that would
    start one is stored as a string with Excel's own quote prefix (the hidden apostrophe), so even editing the
    cell keeps it text, and it reads exactly as the name was typed."""
    cell = sheet.cell(row, column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise take "=..." for a formula
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    return cell


def _write_unit(sheet: Worksheet, row: int, unit: UnitScore) -> None:
    for index, column in enumerate(XLSX_COLUMNS, start=1):
        cell = write_value(sheet, row, index, column.value(unit))
        if column.kind in XLSX_NUMBER_FORMATS:
            cell.number_format = XLSX_NUMBER_FORMATS[column.kind]


def _add_score_chart(sheet: Worksheet, unit_count: int) -> None:
    score_column = next(i for i, c in enumerate(XLSX_COLUMNS, start=1) if c.kind == PERCENT and c.header == "امتیاز")
    first, last = HEADER_ROW + 1, HEADER_ROW + unit_count
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: long Persian unit names stay readable on the category axis
    chart.title = "امتیاز واحدها"
    chart.legend = None
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    chart.x_axis.scaling.orientation = "maxMin"  # rank 1 at the top, as in the table
    chart.add_data(Reference(sheet, min_col=score_column, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=first, max_row=last))
    chart.height = max(7.5, 0.8 * unit_count + 3)
    chart.width = 20
    sheet.add_chart(chart, f"B{last + 3}")


def _trend_sheet(sheet: Worksheet, trend: ScorecardTrend) -> None:
    """A block per measure (score, the three rates, receipts): a row per unit, a column per month, oldest first;
    empty where the unit received nothing that month. The line chart plots the score block, a line per unit."""
    sheet.sheet_view.rightToLeft = True
    sheet.cell(TITLE_ROW, 1, trend_title(trend)).font = Font(bold=True, size=14)
    sheet.cell(TITLE_ROW + 1, 1, generated_note(trend)).font = Font(color="777777")
    sheet.column_dimensions["A"].width = 28
    for index in range(len(trend.months)):
        sheet.column_dimensions[get_column_letter(index + 2)].width = 13
    row = HEADER_ROW
    score_rows: tuple[int, int] | None = None
    for measure in TREND_MEASURES:
        sheet.cell(row, 1, measure.header).font = Font(bold=True, size=12)
        _write_trend_header(sheet, row + 1, trend)
        first = row + 2
        for offset, unit in enumerate(trend.units):
            write_value(sheet, first + offset, 1, unit.unit_name)
            for index, point in enumerate(unit.points, start=2):
                cell = sheet.cell(first + offset, index, None if point is None else measure.value(point))
                cell.number_format = XLSX_NUMBER_FORMATS[measure.kind]
        if score_rows is None:
            score_rows = (first, first + len(trend.units) - 1)
        row = first + len(trend.units) + 1
    sheet.freeze_panes = sheet.cell(1, 2)  # the unit names stay in view
    if trend.units and score_rows is not None:
        _add_trend_chart(sheet, trend, *score_rows)


def _write_trend_header(sheet: Worksheet, row: int, trend: ScorecardTrend) -> None:
    fill = PatternFill("solid", fgColor="0B6E4F")
    labels = ["واحد", *(jalali_month_label(m.year, m.month) for m in trend.months)]
    for index, label in enumerate(labels, start=1):
        cell = sheet.cell(row, index, label)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")


def _add_trend_chart(sheet: Worksheet, trend: ScorecardTrend, first: int, last: int) -> None:
    months = len(trend.months)
    chart = LineChart()
    chart.title = "روند امتیاز واحدها"
    chart.y_axis.title = "امتیاز"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = "0%"
    # Right to left: the oldest month on the right, as on the page; the value axis keeps crossing at the first
    # month, so it moves to the right with it.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.delete = False  # openpyxl 3.1 hides both axes unless told otherwise
    chart.y_axis.delete = False
    chart.display_blanks = "gap"  # a month without receipts breaks the line rather than reading as 0 %
    chart.add_data(Reference(sheet, min_col=1, max_col=1 + months, min_row=first, max_row=last), from_rows=True,
                   titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, max_col=1 + months, min_row=first - 1, max_row=first - 1))
    for series, colour in zip(chart.series, _cycle(PALETTE, len(chart.series)), strict=True):
        series.graphicalProperties.line.solidFill = "".join(f"{channel:02X}" for channel in colour)
        series.graphicalProperties.line.width = 28_575  # EMU: 2.25 pt
        series.smooth = False
    chart.height = 10
    chart.width = 22
    sheet.add_chart(chart, f"{get_column_letter(months + 3)}{HEADER_ROW}")


def _cycle(colours: Sequence[tuple[int, int, int]], count: int) -> list[tuple[int, int, int]]:
    return [colours[index % len(colours)] for index in range(count)]


# --- PDF ----------------------------------------------------------------------------------------------------------

ROW_HEIGHT = 7.0
BAR_HEIGHT = 5.0
BAR_GAP = 1.6
CHART_LABEL_WIDTH = 55.0


def scorecard_pdf(card: Scorecard, *, title: str, trend: ScorecardTrend | None = None) -> bytes:
    """A4 landscape, right to left: per page the table of up to UNITS_PER_PAGE units and their score bars; with a
    trend, then per UNITS_PER_PAGE units of it a page with their scores' line chart over the months."""
    pdf = _new_document(title)
    units = sorted(card.units, key=lambda u: u.rank)
    pages = _chunks(units)
    trend_pages = [] if trend is None else _chunks(trend.units)
    total = len(pages) + len(trend_pages)
    for number, page_units in enumerate(pages, start=1):
        pdf.add_page()
        _page_heading(pdf, title, generated_note(card), number, total)
        _channel_line(pdf, card.received_by_channel)
        if not page_units:
            pdf.cell(0, 10, "در این ماه درخواستی به واحدها ارجاع نشده است.", align="R")
            continue
        _table(pdf, page_units)
        _score_chart(pdf, page_units)
    if trend is not None:
        for number, trend_units in enumerate(trend_pages, start=len(pages) + 1):
            pdf.add_page()
            _page_heading(pdf, trend_title(trend), generated_note(trend), number, total)
            if not trend_units:
                pdf.cell(0, 10, "در این شش ماه درخواستی به واحدها ارجاع نشده است.", align="R")
                continue
            _trend_chart(pdf, trend, trend_units)
            _trend_table(pdf, trend, trend_units)
    return bytes(pdf.output())


def _chunks(items: Sequence[Chunked]) -> list[list[Chunked]]:
    """UNITS_PER_PAGE at a time; one empty page when there is nothing, so the reader sees that said."""
    return [list(items[i:i + UNITS_PER_PAGE]) for i in range(0, len(items), UNITS_PER_PAGE)] or [[]]


def _new_document(title: str) -> FPDF:
    pdf = persian_document(title=title, page_format="A4", orientation="L")
    pdf.set_auto_page_break(auto=False)  # pages are laid out by hand, UNITS_PER_PAGE at a time
    pdf.set_margins(12, 10, 12)
    return pdf


def _page_heading(pdf: FPDF, title: str, note: str, number: int, total: int) -> None:
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 9, title, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*GREY)
    page = persian_digits(f"صفحه {number} از {total}")
    pdf.cell(pdf.epw / 2, 6, page, align="L")
    pdf.cell(pdf.epw / 2, 6, note, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _channel_line(pdf: FPDF, counts: ChannelCounts) -> None:
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, channel_note(counts), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(pdf: FPDF, units: Sequence[UnitScore]) -> None:
    # fpdf2 lays table columns out left to right, so the first column (rank) is given last to sit on the right.
    columns = list(reversed(PDF_COLUMNS))
    pdf.set_font(FONT, "", 9)
    pdf.set_fill_color(255, 255, 255)  # the chart's bar colour would otherwise fill the unshaded rows
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=GREEN)
    with pdf.table(col_widths=[c.width for c in columns], text_align="CENTER", line_height=ROW_HEIGHT / 1.6,
                   min_row_height=ROW_HEIGHT, headings_style=heading, cell_fill_color=PALE_GREEN,
                   cell_fill_mode="ROWS", width=sum(c.width for c in columns)) as table:
        header = table.row()
        for column in columns:
            header.cell(column.header)
        for unit in units:
            row = table.row()
            for column in columns:
                row.cell(display(column.value(unit), column.kind))


def _score_chart(pdf: FPDF, units: Sequence[UnitScore]) -> None:
    """Horizontal bars growing leftwards from the unit names on the right, on a 0–100 scale shared by all pages."""
    top = pdf.get_y() + 6
    pdf.set_font(FONT, "B", 11)
    pdf.set_xy(pdf.l_margin, top)
    pdf.cell(0, 7, "امتیاز واحدها (از ۱۰۰)", align="R")
    top += 9
    right = pdf.w - pdf.r_margin - CHART_LABEL_WIDTH  # where a bar starts
    span = right - pdf.l_margin - 15  # room left for the value printed past the longest bar
    height = len(units) * (BAR_HEIGHT + BAR_GAP)
    _chart_grid(pdf, right, span, top, height)
    pdf.set_font(FONT, "", 9)
    for index, unit in enumerate(units):
        y = top + index * (BAR_HEIGHT + BAR_GAP)
        pdf.set_xy(right + 2, y)
        pdf.cell(CHART_LABEL_WIDTH - 2, BAR_HEIGHT, persian_digits(unit.unit_name), align="R")
        length = span * (unit.score or 0.0)
        if length > 0:
            pdf.set_fill_color(*GREEN)
            pdf.rect(right - length, y, length, BAR_HEIGHT, style="F")
        pdf.set_xy(right - length - 14, y)
        pdf.cell(13, BAR_HEIGHT, display(unit.score, PERCENT).rstrip("٪"), align="R")


def _chart_grid(pdf: FPDF, right: float, span: float, top: float, height: float) -> None:
    pdf.set_draw_color(200, 200, 200)
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    for tick in range(0, 101, 25):
        x = right - span * tick / 100
        pdf.line(x, top - 1, x, top + height)
        pdf.set_xy(x - 6, top + height)
        pdf.cell(12, 5, persian_digits(tick), align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)


# The trend page: the plot on the left, its value axis on its right, the legend of unit names on the right edge;
# the table of the same units' monthly scores beneath. Millimetres from the page's top-left corner.
TREND_PLOT_TOP = 38.0
TREND_PLOT_HEIGHT = 80.0
TREND_LEGEND_WIDTH = 62.0
TREND_AXIS_WIDTH = 12.0
TREND_LINE_WIDTH = 0.7
TREND_MONTH_WIDTH = 24.0


def trend_plot_box(pdf_width: float = 297.0, margin: float = 12.0) -> tuple[float, float, float, float]:
    """The plot area (left, top, right, bottom) in mm, where the lines are drawn."""
    right = pdf_width - margin - TREND_LEGEND_WIDTH - TREND_AXIS_WIDTH
    return margin + 4, TREND_PLOT_TOP, right, TREND_PLOT_TOP + TREND_PLOT_HEIGHT


def _trend_chart(pdf: FPDF, trend: ScorecardTrend, units: Sequence[UnitTrend]) -> None:
    """A line per unit of its monthly score on a 0–100 scale, months running right to left (oldest on the right);
    a month without receipts leaves a gap, a lone month shows as a dot."""
    left, top, right, bottom = trend_plot_box(pdf.w, pdf.r_margin)
    pdf.set_font(FONT, "B", 11)
    pdf.set_xy(pdf.l_margin, top - 9)
    pdf.cell(0, 7, "روند امتیاز واحدها (از ۱۰۰)", align="R")
    slot = (right - left) / len(trend.months)

    def x_of(index: int) -> float:
        return right - (index + 0.5) * slot

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value

    pdf.set_draw_color(200, 200, 200)
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*GREY)
    for tick in range(0, 101, 25):
        y = y_of(tick / 100)
        pdf.line(left, y, right, y)
        pdf.set_xy(right + 1, y - 2.5)
        pdf.cell(TREND_AXIS_WIDTH - 2, 5, persian_digits(tick), align="R")
    pdf.set_font(FONT, "", 9)
    for index, period in enumerate(trend.months):
        pdf.set_xy(x_of(index) - slot / 2, bottom + 1)
        pdf.cell(slot, 6, jalali_month_label(period.year, period.month), align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_line_width(TREND_LINE_WIDTH)
    for unit, colour in zip(units, _cycle(PALETTE, len(units)), strict=True):
        pdf.set_draw_color(*colour)
        pdf.set_fill_color(*colour)
        points = [None if point is None or point.score is None else (x_of(index), y_of(point.score))
                  for index, point in enumerate(unit.points)]
        for here, there in pairwise(points):
            if here is not None and there is not None:
                pdf.line(*here, *there)
        for point in points:
            if point is not None:
                pdf.circle(x=point[0], y=point[1], radius=1.1, style="F")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    _trend_legend(pdf, units, top)
    pdf.set_xy(pdf.l_margin, bottom + 9)


def _trend_legend(pdf: FPDF, units: Sequence[UnitTrend], top: float) -> None:
    """Unit names shaped by HarfBuzz, each right of a swatch of its line's colour."""
    edge = pdf.w - pdf.r_margin
    pdf.set_font(FONT, "", 9)
    for index, (unit, colour) in enumerate(zip(units, _cycle(PALETTE, len(units)), strict=True)):
        y = top + index * 6.4
        pdf.set_fill_color(*colour)
        pdf.rect(edge - 7, y + 1.8, 7, 2.4, style="F")
        pdf.set_xy(edge - TREND_LEGEND_WIDTH, y)
        pdf.cell(TREND_LEGEND_WIDTH - 9, 6, persian_digits(unit.unit_name), align="R")
    pdf.set_fill_color(255, 255, 255)


def _trend_table(pdf: FPDF, trend: ScorecardTrend, units: Sequence[UnitTrend]) -> None:
    """The plotted scores as figures: a row per unit, a column per month (the oldest on the right)."""
    months = [jalali_month_label(m.year, m.month) for m in trend.months]
    widths = [TREND_MONTH_WIDTH] * len(months) + [CHART_LABEL_WIDTH]
    pdf.set_font(FONT, "", 9)
    pdf.set_fill_color(255, 255, 255)
    heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=GREEN)
    # fpdf2 lays columns out left to right: the unit's name is given last to sit on the right, the months newest
    # first so the oldest is next to it.
    with pdf.table(col_widths=widths, text_align="CENTER", line_height=ROW_HEIGHT / 1.6, min_row_height=6.4,
                   headings_style=heading, cell_fill_color=PALE_GREEN, cell_fill_mode="ROWS",
                   width=sum(widths)) as table:
        header = table.row()
        for label in reversed(months):
            header.cell(label)
        header.cell("امتیاز واحد")
        for unit in units:
            row = table.row()
            for point in reversed(unit.points):
                row.cell(display(None if point is None else point.score, PERCENT))
            row.cell(unit.unit_name)
