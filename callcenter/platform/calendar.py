"""The municipality's calendar: Tehran time, Jalali dates and months, and their Persian names and labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jdatetime

from callcenter.platform.persian import ascii_digits, persian_digits

# Moments are stored in UTC; Tehran time applies where one is bucketed into a day or month, shown or said (ADR 0051).
TEHRAN = ZoneInfo("Asia/Tehran")
# 1 Farvardin is month 1. The IVR's prompts and the scorecard exports name months from here, as should all that
# shows them.
JALALI_MONTHS: tuple[str, ...] = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)
# Saturday first, as jdatetime's weekday() counts.
WEEKDAYS: tuple[str, ...] = ("شنبه", "یک‌شنبه", "دوشنبه", "سه‌شنبه", "چهارشنبه", "پنج‌شنبه", "جمعه")


def require_aware(moment: datetime) -> None:
    """ValueError for a naive datetime: which day it is in Tehran depends on the zone it was meant in."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetimes are ambiguous; pass an aware datetime, not {moment.isoformat()}")


def in_tehran(moment: datetime) -> datetime:
    """The aware ``moment`` on Tehran's wall clock."""
    require_aware(moment)
    return moment.astimezone(TEHRAN)


def jalali_day(day: date) -> jdatetime.date:
    """A Gregorian calendar day as the same day in the Jalali calendar."""
    return jdatetime.date.fromgregorian(date=day)


def jalali_date(moment: datetime) -> jdatetime.date:
    """The Jalali date in Tehran at the aware ``moment``."""
    return jalali_day(in_tehran(moment).date())


def this_jalali_month(now: datetime) -> tuple[int, int]:
    """(year, month) of the Jalali month that ``now`` falls in, in Tehran."""
    today = jalali_date(now)
    return today.year, today.month


def tehran_midnight(day: date) -> datetime:
    """The start of a Gregorian day in Tehran, as aware UTC.

    A fresh local midnight through zoneinfo for each day, so a day with a clock change (Iran kept DST until 2022)
    is 23 or 25 hours long rather than shifted.
    """
    return datetime.combine(day, time(0), tzinfo=TEHRAN).astimezone(UTC)


def today_window(now: datetime) -> tuple[datetime, datetime]:
    """The Tehran calendar day containing ``now`` ("today"), as aware UTC [start, end)."""
    day = in_tehran(now).date()
    return tehran_midnight(day), tehran_midnight(day + timedelta(days=1))


def jalali_month_window(year: int, month: int) -> tuple[datetime, datetime]:
    """The Jalali month (1 Farvardin = 1) in Tehran, as aware UTC [start, end); jdatetime knows which Esfand has
    30 days."""
    _check_month(month)
    following = jdatetime.date(year + 1, 1, 1) if month == 12 else jdatetime.date(year, month + 1, 1)
    return tehran_midnight(jdatetime.date(year, month, 1).togregorian()), tehran_midnight(following.togregorian())


def previous_jalali_months(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """The ``count`` Jalali months ending with (year, month), oldest first."""
    _check_month(month)
    if count < 1:
        raise ValueError(f"a trend needs at least one month, got {count}")
    index = year * 12 + month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def month_name(month: int) -> str:
    """The Persian name of a Jalali month: 9 → «آذر»."""
    _check_month(month)
    return JALALI_MONTHS[month - 1]


def jalali_month_label(year: int, month: int) -> str:
    """«مهر ۱۴۰۵»: a Jalali month as staff read it."""
    return f"{month_name(month)} {persian_digits(year)}"


def jalali_day_label(day: date) -> str:
    """«شنبه ۱۴ آذر ۱۴۰۵»: a Gregorian calendar day as a person reads it, weekday first."""
    jalali = jalali_day(day)
    weekday = WEEKDAYS[jalali.weekday()]
    return f"{weekday} {persian_digits(jalali.day)} {month_name(jalali.month)} {persian_digits(jalali.year)}"


def jalali_input(day: date) -> str:
    """«۱۴۰۵/۰۹/۱۴»: a Gregorian day as a Jalali date field shows it (read back by :func:`parse_jalali_day`)."""
    return persian_digits(jalali_day(day).strftime("%Y/%m/%d"))


def parse_jalali_day(text: str) -> date:
    """A typed Jalali date (``1405/09/14``, Persian or ASCII digits, ``/`` or ``-``) as its Gregorian day;
    ValueError when it is not one."""
    parts = ascii_digits(text).strip().replace("-", "/").split("/")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"not a Jalali date: {text!r}")
    year, month, day = (int(part) for part in parts)
    return jdatetime.date(year, month, day).togregorian()


def tehran_clock(moment: datetime) -> str:
    """«۰۹:۳۰»: the time of day in Tehran at the aware ``moment``, in Persian digits."""
    return persian_digits(in_tehran(moment).strftime("%H:%M"))


def jalali_timestamp(moment: datetime) -> tuple[str, str]:
    """The Jalali date (``YYYY/MM/DD``) and the time (``HH:MM``) in Tehran at ``moment``, in Persian digits."""
    local = jdatetime.datetime.fromgregorian(datetime=in_tehran(moment))
    return persian_digits(local.strftime("%Y/%m/%d")), persian_digits(local.strftime("%H:%M"))


def _check_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"a Jalali month is 1..12, got {month}")
