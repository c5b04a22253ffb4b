"""Persian numbers, codes, Jalali dates and durations as sequences of prompt-fragment keys (Asterisk has no Persian)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from callcenter.tickets.tracking_code import CODE_LENGTH, format_for_reading

TEHRAN = ZoneInfo("Asia/Tehran")
MAX_NUMBER = 999_999_999
AND = "word_and"
PAUSE = "pause_short"

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def _below_thousand(n: int) -> list[str]:
    """1 … 999: hundreds, then tens and units (or one word for 1 … 19), joined by "و"."""
    hundreds, rest = divmod(n, 100)
    parts = [f"num_{hundreds * 100}"] if hundreds else []
    if rest >= 20:
        tens, units = divmod(rest, 10)
        parts.append(f"num_{tens * 10}")
        if units:
            parts.append(f"num_{units}")
    elif rest:
        parts.append(f"num_{rest}")
    return _joined([[part] for part in parts])


def _joined(terms: list[list[str]]) -> list[str]:
    keys: list[str] = []
    for term in terms:
        if keys:
            keys.append(AND)
        keys.extend(term)
    return keys


def say_number(n: int) -> list[str]:
    """0 … 999 999 999 the Persian way: 1 234 567 → "یک میلیون و دویست و سی و چهار هزار و پانصد و شصت و هفت".

    A thousand alone is "هزار" (not "یک هزار"); a million is "یک میلیون".
    """
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"can only say 0 … {MAX_NUMBER}, not {n}")
    if n == 0:
        return ["num_0"]
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    terms: list[list[str]] = []
    if millions:
        terms.append([*_below_thousand(millions), "num_million"])
    if thousands == 1:
        terms.append(["num_thousand"])
    elif thousands:
        terms.append([*_below_thousand(thousands), "num_thousand"])
    if units:
        terms.append(_below_thousand(units))
    return _joined(terms)


def say_digits(digits: str) -> list[str]:
    """One fragment per ASCII digit: "093" → صفر، نُه، سه."""
    if not digits or not all("0" <= ch <= "9" for ch in digits):
        raise ValueError(f"not a string of ASCII digits: {digits!r}")
    return [f"num_{ch}" for ch in digits]


def say_tracking_code(code: str) -> list[str]:
    """The code in the console's groups of three, digit by digit, with ``pause_short`` between the groups."""
    if len(code) != CODE_LENGTH or not (code.isascii() and code.isdigit()):
        raise ValueError(f"a tracking code is {CODE_LENGTH} ASCII digits, not {code!r}")
    keys: list[str] = []
    for group in format_for_reading(code).split("-"):
        if keys:
            keys.append(PAUSE)
        keys.extend(say_digits(group))
    return keys


def say_jalali_date(when: datetime) -> list[str]:
    """An aware datetime as the Jalali date in Tehran: day, month name, year ("۲۵ آبان ۱۴۰۵")."""
    if when.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
    jalali = jdatetime.date.fromgregorian(date=when.astimezone(TEHRAN).date())
    return [*say_number(jalali.day), f"month_{jalali.month}", *say_number(jalali.year)]


def say_duration(seconds: int) -> list[str]:
    """Roughly how long: "حدود ۳ روز". Days from one day on, else hours from one hour on, else minutes (at least
    one); each rounded half up."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    for unit, word in ((_DAY, "word_day"), (_HOUR, "word_hour")):
        if seconds >= unit:
            return ["word_about", *say_number((seconds + unit // 2) // unit), word]
    return ["word_about", *say_number(max(1, (seconds + _MINUTE // 2) // _MINUTE)), "word_minute"]
