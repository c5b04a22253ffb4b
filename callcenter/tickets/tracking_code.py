"""Ticket tracking codes: nine digits read over the phone, the last a Verhoeff check digit."""

from __future__ import annotations

import secrets

from callcenter.platform.errors import InvalidTrackingCode
from callcenter.platform.persian import ascii_digits

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

CODE_LENGTH = 9


def _verhoeff_checksum(digits: str, *, shift: int) -> int:
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        checksum = _D[checksum][_P[(position + shift) % 8][int(char)]]
    return checksum


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff digit that makes ``digits + result`` valid; catches every single-digit error and swap."""
    return str(_INV[_verhoeff_checksum(digits, shift=1)])


def is_valid(code: str) -> bool:
    """True when ``code`` is all digits and its last digit is the right Verhoeff check."""
    return code.isdigit() and len(code) >= 2 and _verhoeff_checksum(code, shift=0) == 0


def new_tracking_code() -> str:
    """A random code (first digit never 0, so it survives being read as a number) with its check digit."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(CODE_LENGTH - 2))
    return body + verhoeff_check_digit(body)


def parse_tracking_code(raw: str) -> str:
    """Accept what a person types (Persian digits, spaces, dashes); refuse a wrong length or check digit."""
    code = "".join(ch for ch in ascii_digits(raw) if not ch.isspace() and ch != "-")
    if len(code) != CODE_LENGTH or not code.isdigit():
        raise InvalidTrackingCode("کد رهگیری باید ۹ رقم باشد.", code=code)
    if not is_valid(code):
        raise InvalidTrackingCode("کد رهگیری نادرست است؛ لطفاً دوباره بررسی کنید.", code=code)
    return code


def format_for_reading(code: str) -> str:
    """Groups of three, as an operator reads it: ``123-456-789``."""
    return "-".join(code[i : i + 3] for i in range(0, len(code), 3))
