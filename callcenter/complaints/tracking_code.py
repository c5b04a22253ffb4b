"""Complaint tracking codes: their own series, ten digits starting with 8 (a ticket's code has nine), the last a
Verhoeff check digit, so a complaint's code is never mistaken for a 137 ticket's."""

from __future__ import annotations

import secrets

from callcenter.platform.errors import InvalidTrackingCode
from callcenter.platform.persian import ascii_digits, persian_digits
from callcenter.tickets.tracking_code import is_valid, verhoeff_check_digit

CODE_LENGTH = 10
SERIES_DIGIT = "8"


def new_complaint_code() -> str:
    """A random code of the complaints' series with its check digit."""
    body = SERIES_DIGIT + "".join(str(secrets.randbelow(10)) for _ in range(CODE_LENGTH - 2))
    return body + verhoeff_check_digit(body)


def parse_complaint_code(raw: str) -> str:
    """Accept what a person types (Persian digits, spaces, dashes); refuse a wrong length, series or check."""
    code = "".join(ch for ch in ascii_digits(raw) if not ch.isspace() and ch != "-")
    if len(code) != CODE_LENGTH or not code.isdigit() or not code.startswith(SERIES_DIGIT):
        raise InvalidTrackingCode(f"کد پیگیری شکایت {persian_digits(CODE_LENGTH)} رقم است و با "
                                  f"{persian_digits(SERIES_DIGIT)} شروع می‌شود.", code=code)
    if not is_valid(code):
        raise InvalidTrackingCode("کد پیگیری شکایت نادرست است؛ لطفاً دوباره بررسی کنید.", code=code)
    return code


def format_for_reading(code: str) -> str:
    """Groups as a person reads it aloud: ``8123-456-789``."""
    return f"{code[:4]}-{code[4:7]}-{code[7:]}"
