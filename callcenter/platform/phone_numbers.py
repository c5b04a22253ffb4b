"""Which phone numbers can receive an SMS: a citizen's caller number, a unit manager's mobile."""

from __future__ import annotations

import re

from callcenter.platform.persian import normalize_phone_number

_IRANIAN_MOBILE = re.compile(r"09\d{9}")


def sms_number(caller_number: str | None) -> str | None:
    """The caller's number if it can receive an SMS (an Iranian mobile, ``09`` and nine digits), else None."""
    number = normalize_phone_number(caller_number) if caller_number else ""
    return number if _IRANIAN_MOBILE.fullmatch(number) else None
