"""Persian text at the edges: normalise what we store, format digits for what we show."""

from __future__ import annotations

import re

_ARABIC_TO_PERSIAN_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "\u200f": "", "\u200e": ""})
_TO_ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_TO_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Control characters that are not whitespace (NUL, escape, DEL, the C1 range) and lone UTF-16 surrogates: nobody
# types them, terminals and spreadsheets act on them, and PostgreSQL refuses NUL in text (a 500, not a ticket).
# Tabs and line breaks are whitespace and become single spaces like every other run of spaces.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f\ud800-\udfff]")


def normalize_text(text: str) -> str:
    """Canonical stored form: Persian letters instead of Arabic look-alikes, ASCII digits, no control characters,
    trimmed spaces."""
    cleaned = _CONTROL.sub("", text).translate(_ARABIC_TO_PERSIAN_LETTERS).translate(_TO_ASCII_DIGITS)
    return " ".join(cleaned.split())


def ascii_digits(text: str) -> str:
    """Persian or Arabic-Indic digits to ASCII; other characters unchanged."""
    return text.translate(_TO_ASCII_DIGITS)


def persian_digits(value: object) -> str:
    """ASCII digits to Persian ones, for display only."""
    return str(value).translate(_TO_PERSIAN_DIGITS)


def normalize_phone_number(raw: str) -> str:
    """Caller numbers as stored: ASCII digits, Iranian mobile/landline in national form (0...)."""
    digits = "".join(ch for ch in ascii_digits(raw) if ch.isdigit() or ch == "+")
    if digits.startswith("+98"):
        return "0" + digits[3:]
    if digits.startswith("0098"):
        return "0" + digits[4:]
    return digits.lstrip("+")
