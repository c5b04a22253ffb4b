"""The scorecard files for the mayor: the workbook opens with openpyxl, right to left; the PDF renders to a picture."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from io import BytesIO

import openpyxl
import pypdfium2 as pdfium
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from callcenter.scorecard import Scorecard, UnitScore
from callcenter.scorecard_export import (
    UNITS_PER_PAGE,
    XLSX_COLUMNS,
    export_filename,
    scorecard_pdf,
    scorecard_title,
    scorecard_xlsx,
)

TITLE = scorecard_title(1405, 9)
GREEN_SPACE = "فضای سبز"
WASTE = "مدیریت پسماند"


def unit(rank: int, name: str, score: float | None, *, median: float | None = 5.25) -> UnitScore:
    return UnitScore(
        unit_id=rank, unit_name=name, rank=rank, score=score, received=12, left_before_done=1, reported_done=10,
        on_time=8, late=2, on_time_rate=0.8, median_hours_to_done=median, p90_hours_to_done=30.0,
        verified_resolved=7, verified_not_resolved=1, verification_pass_rate=0.875, reopened=1, reopen_rate=0.1,
        verdicts_against=2, verdicts_for=1, citizens_asked=8, citizens_satisfied=7, citizen_satisfaction=None,
    )


def card(units: list[UnitScore]) -> Scorecard:
    return Scorecard(start=datetime(2026, 11, 21, 20, 30, tzinfo=UTC), end=datetime(2026, 12, 21, 20, 30, tzinfo=UTC),
                     generated_at=datetime(2026, 12, 25, 8, 0, tzinfo=UTC), units=units)


def sheet_of(content: bytes) -> Worksheet:
    sheet = openpyxl.load_workbook(BytesIO(content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def row_of(sheet: Worksheet, row: int) -> dict[str, object]:
    return {column.header: sheet.cell(row, index).value for index, column in enumerate(XLSX_COLUMNS, start=1)}


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
    assert values["صدک ۹۰ زمان انجام (ساعت)"] == 30 and sheet["K4"].number_format == "0.0"
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
