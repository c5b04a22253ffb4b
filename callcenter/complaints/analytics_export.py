"""The complaint analytics as an RTL Excel workbook: one sheet per figure, Persian headers, numbers as numbers."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from callcenter.complaints.analytics import ComplaintAnalytics
from callcenter.complaints.names import GROUND_NAMES
from callcenter.platform.calendar import jalali_month_label, jalali_timestamp
from callcenter.reports.scorecard import TrendMonth
from callcenter.reports.scorecard_export import XLSX_NUMBER_FORMATS, write_value

TITLE_ROW, HEADER_ROW = 1, 3
PERCENT_FORMAT = XLSX_NUMBER_FORMATS["pct"]
DAYS_FORMAT = XLSX_NUMBER_FORMATS["hours"]  # one decimal, as the scorecard's hours
Value = str | int | float | None


def period_label(months: Sequence[TrendMonth]) -> str:
    """«شهریور ۱۴۰۵ تا آبان ۱۴۰۵», or one month's label."""
    first, last = months[0], months[-1]
    if (first.year, first.month) == (last.year, last.month):
        return jalali_month_label(first.year, first.month)
    return f"{jalali_month_label(first.year, first.month)} تا {jalali_month_label(last.year, last.month)}"


def analytics_title(figures: ComplaintAnalytics) -> str:
    return f"تحلیل شکایت‌ها — {period_label(figures.months)}"


def export_filename(figures: ComplaintAnalytics) -> str:
    """ASCII: complaint-analytics-1405-06-1405-08.xlsx."""
    first, last = figures.months[0], figures.months[-1]
    return f"complaint-analytics-{first.year:04d}-{first.month:02d}-{last.year:04d}-{last.month:02d}.xlsx"


def analytics_xlsx(figures: ComplaintAnalytics) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None  # a new workbook always has its first sheet
    book.remove(first)
    months = [jalali_month_label(m.year, m.month) for m in figures.months]
    grounds = figures.grounds
    _sheet(book, "واحد × زمینه", figures, ["واحد", *(GROUND_NAMES[g] for g in grounds), "جمع"],
           [[u.unit_name, *(u.by_ground.get(g, 0) for g in grounds), u.total] for u in figures.units])
    _sheet(book, "واحد × ماه", figures, ["واحد", *months, "جمع"],
           [[u.unit_name, *u.by_month, u.total] for u in figures.units])
    trend_rows: list[list[Value]] = [[GROUND_NAMES[g], *figures.ground_trend[g], sum(figures.ground_trend[g])]
                                     for g in grounds]
    trend_rows.append(["همه زمینه‌ها", *figures.month_totals, figures.total])
    _sheet(book, "روند ماهانه", figures, ["زمینه", *months, "جمع"], trend_rows)
    _sheet(book, "واحدهای تکراری", figures, ["واحد", "شمار شکایت"],
           [[u.unit_name, u.complaints] for u in figures.repeat_units])
    _sheet(book, "افراد تکراری", figures, ["واحد", "کد پرسنلی", "نام", "شمار شکایت"],
           [[p.unit_name, p.personnel_code, p.person_name, p.complaints] for p in figures.repeat_persons])
    _sheet(book, "زمان رسیدگی", figures,
           ["زمینه", "به نتیجه رسیده", "هنوز باز", "میانه (روز)", "صدک ۹۰ (روز)"],
           [[GROUND_NAMES[t.ground], t.finished, t.still_open, t.median_days, t.p90_days]
            for t in figures.time_to_result],
           formats={3: DAYS_FORMAT, 4: DAYS_FORMAT})
    delay_headers = ["واحد", "شکایت تأخیر", "۱۳۷ به‌موقع", "۱۳۷ دیرکرد", "پاسخ به‌موقع ۱۳۷"]
    for label in months:
        delay_headers += [f"شکایت تأخیر {label}", f"پاسخ به‌موقع {label}"]
    _sheet(book, "تأخیر و ۱۳۷", figures, delay_headers,
           [[d.unit_name, d.delay_complaints, d.on_time, d.late, d.on_time_rate,
             *(value for m in d.months for value in (m.delay_complaints, m.on_time_rate))] for d in figures.delays],
           formats={4: PERCENT_FORMAT, **{6 + 2 * i: PERCENT_FORMAT for i in range(len(months))}})
    _sheet(book, "ریشه‌ها", figures, ["ریشه", "شمار شکایت"],
           [[t.tag_name, t.complaints] for t in figures.root_causes])
    _sheet(book, "ریشه‌ها در واحدها", figures, ["واحد", "ریشه", "شمار شکایت"],
           [[r.unit_name, r.tag_name, r.complaints] for r in figures.root_causes_by_unit])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, name: str, figures: ComplaintAnalytics, headers: Sequence[str],
           rows: Sequence[Sequence[Value]], *, formats: dict[int, str] | None = None) -> Worksheet:
    """Title and when the figures were taken in rows 1-2, headers in row 3, one row per line from row 4; a column
    listed in ``formats`` (0-based) gets that number format, any other number is a whole count."""
    sheet = book.create_sheet(name)
    sheet.sheet_view.rightToLeft = True
    sheet.cell(TITLE_ROW, 1, f"{analytics_title(figures)} — {name}").font = Font(bold=True, size=14)
    day, clock = jalali_timestamp(figures.generated_at)
    sheet.cell(TITLE_ROW + 1, 1, f"ارقام تا {day} ساعت {clock}").font = Font(color="777777")
    fill = PatternFill("solid", fgColor="0B6E4F")
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(HEADER_ROW, index, header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = 30 if index == 1 else 14
    for offset, values in enumerate(rows, start=1):
        for index, value in enumerate(values):
            cell = write_value(sheet, HEADER_ROW + offset, index + 1, value)
            if isinstance(value, int | float):
                cell.number_format = (formats or {}).get(index, XLSX_NUMBER_FORMATS["count"])
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 2)
    return sheet
